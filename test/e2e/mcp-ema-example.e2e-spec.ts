import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { freePort } from '../support/free-port.js';

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * The one command of docs/mcp-ema.md, as a user runs it: `npm run example:mcp-ema` builds what is stale,
 * starts both actbridge deployments (start-dev) and the MCP server, runs the MCP client for two users,
 * prints the calls and exits 0 when each ended as expected. Here on free ports, not 8181-8183.
 */
describe('npm run example:mcp-ema', () => {
  it('runs the whole flow and exits 0', async () => {
    const [enterprise, mcpAs, mcpServer] = await Promise.all([freePort(), freePort(), freePort()]);
    const { NODE_OPTIONS: _jestOnly, ...env } = process.env;
    const child = spawn('npm', ['run', '--silent', 'example:mcp-ema'], {
      cwd: ROOT,
      env: {
        ...env,
        ENTERPRISE_PORT: String(enterprise),
        MCP_AS_PORT: String(mcpAs),
        MCP_SERVER_PORT: String(mcpServer),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((done) => child.on('exit', done));

    expect({ code, tail: output.slice(-2000) }).toEqual({ code: 0, tail: expect.any(String) });
    const idp = `http://127.0.0.1:${enterprise}`;
    const as = `http://127.0.0.1:${mcpAs}`;
    const mcp = `http://127.0.0.1:${mcpServer}/mcp`;
    expect(output).toContain('DEVELOPMENT MODE');
    // The calls, printed: the ID-JAG request at the enterprise, its N_A answer, the redemption, the 403.
    expect(output).toContain(`→ POST ${idp}/oauth/token   (enterprise IdP: identity assertion → ID-JAG`);
    expect(output).toContain(`    audience=${as}\n    resource=${mcp}\n`);
    expect(output).toContain('"issued_token_type":"urn:ietf:params:oauth:token-type:id-jag","token_type":"N_A"');
    expect(output).toContain(`→ POST ${as}/oauth/token   (MCP authorization server: ID-JAG → access token`);
    // The user's login (auth_time, amr), carried from the ID token through the ID-JAG (RFC 9068 §2.2.1).
    expect(output).toMatch(
      new RegExp(
        `"aud":"${mcp}","client_id":"acme-chat-at-todos","auth_time":\\d+,"amr":\\["pwd"\\],"scope":"todos.read todos.write"`,
      ),
    );
    expect(output).toContain('list_todos → {"user":"alice","scopes":["todos.read","todos.write"],"todos":[]}');
    expect(output).toContain(
      'www-authenticate: Bearer error="insufficient_scope", error_description="token lacks scope todos.write", scope="todos.write"',
    );
    expect(output).toMatch(
      /\[enterprise audit\] \{"event":"token\.issued","client_id":"acme-chat",.*"rule":"demo-sso\/staff"/,
    );
    expect(output).toContain('All calls ended as expected.');
  }, 180_000);
});
