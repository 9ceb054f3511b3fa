/**
 * `npm run example:mcp-ema`: MCP Enterprise-Managed Authorization end to end, in DEVELOPMENT MODE
 * (actbridge start-dev: ephemeral signing keys, the demo SSO whose key is public, plaintext demo
 * secrets). Starts actbridge as the enterprise IdP (127.0.0.1:8181) and as the MCP authorization server
 * (:8182), the todos MCP server (:8183), then runs the MCP client once for two users and prints every
 * call. Exits 0 when each call ended as expected. Other ports: ENTERPRISE_PORT, MCP_AS_PORT, MCP_SERVER_PORT.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { connectChatClient } from './chat-client.js';
import { demoIdToken, type DemoUser } from './demo-sso.js';
import { ID_TOKEN_TYPE } from './ema-auth-provider.js';
import { DEFAULT_ORIGINS, EXAMPLE_DIR, sideDirectories, type Origins, type Side } from './example-config.js';
import { formatCall, type TracedCall } from './http-trace.js';
import { startTodoMcpServer } from './todo-mcp-server.js';

const ROOT = resolve(EXAMPLE_DIR, '../..');
const print = (text = '') => process.stdout.write(`${text}\n`);

const USERS: ReadonlyArray<DemoUser & { expectWrite: boolean }> = [
  { sub: 'alice', email: 'alice@acme.example', groups: ['engineering'], expectWrite: true },
  { sub: 'bob', email: 'bob@acme.example', groups: ['sales'], expectWrite: false },
];

interface Actbridge {
  readonly side: Side;
  /** Audit lines written since the last take(). */
  takeAudit(): string[];
  stop(): Promise<void>;
}

function origins(): Origins {
  const at = (variable: string, fallback: string) =>
    process.env[variable] ? `http://127.0.0.1:${Number(process.env[variable])}` : fallback;
  return {
    enterprise: at('ENTERPRISE_PORT', DEFAULT_ORIGINS.enterprise),
    mcpAs: at('MCP_AS_PORT', DEFAULT_ORIGINS.mcpAs),
    mcpServer: at('MCP_SERVER_PORT', DEFAULT_ORIGINS.mcpServer),
  };
}

/** `node dist/main.js start-dev` with one side's configuration; resolves once it answers /health/live. */
async function startActbridge(side: Side, all: Origins): Promise<Actbridge> {
  const origin = side === 'enterprise' ? all.enterprise : all.mcpAs;
  const dirs = sideDirectories(side, all);
  const child: ChildProcess = spawn(process.execPath, ['dist/main.js', 'start-dev'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: new URL(origin).port,
      HOST: '127.0.0.1',
      ISSUER: origin,
      TRUST_ANCHORS_DIR: dirs.trustAnchorsDir,
      CLIENTS_FILE: dirs.clientsFile,
      // Two instances on one host: the management listener (MANAGEMENT_PORT 9000) of neither is needed.
      MANAGEMENT_PORT: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let audit: string[] = [];
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop()!;
    for (const line of lines) if (line.startsWith('{"') && line.includes('"event":"token.')) audit.push(line);
  });
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((done) => child.on('exit', () => done()));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`actbridge (${side}) exited:\n${output}`);
    if (Date.now() > deadline) throw new Error(`actbridge (${side}) did not start:\n${output}`);
    const live = await fetch(`${origin}/health/live`).catch(() => undefined);
    if (live?.ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    side,
    takeAudit: () => {
      const taken = audit;
      audit = [];
      return taken;
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      if (dirs.temporaryDir) rmSync(dirs.temporaryDir, { recursive: true, force: true });
    },
  };
}

/** The fields of an audit line that tell the story; the whole line is JSON with more (request_id, ip, jti...). */
function auditSummary(line: string): string {
  const record = JSON.parse(line) as Record<string, unknown>;
  const keys = ['event', 'client_id', 'subject', 'rule', 'audience', 'resource', 'scope', 'issued_token_type', 'error'];
  return JSON.stringify(Object.fromEntries(keys.filter((k) => record[k] !== undefined).map((k) => [k, record[k]])));
}

function label(call: TracedCall, all: Origins): string {
  const url = new URL(call.url);
  if (url.pathname.startsWith('/.well-known/oauth-protected-resource')) return 'RFC 9728 metadata of the MCP server';
  if (url.pathname.startsWith('/.well-known/oauth-authorization-server')) {
    return url.origin === all.enterprise
      ? 'RFC 8414 metadata of the enterprise IdP'
      : 'RFC 8414 metadata of the MCP AS';
  }
  if (url.origin === all.enterprise) return 'enterprise IdP: identity assertion → ID-JAG (token exchange, EMA §4)';
  if (url.origin === all.mcpAs) return 'MCP authorization server: ID-JAG → access token (jwt-bearer, EMA §5)';
  if (call.method !== 'POST') return `MCP ${call.method}`;
  let message: { method?: string; params?: { name?: string } } = {};
  try {
    message = JSON.parse(call.requestBody ?? '{}') as typeof message;
  } catch {
    // not JSON-RPC: labelled generically
  }
  return `MCP ${message.method ?? 'message'}${message.params?.name ? ` ${message.params.name}` : ''}`;
}

/** One user's session: sign-in (demo SSO), connect, read, write; returns whether everything went as expected. */
async function session(user: (typeof USERS)[number], all: Origins, sides: readonly Actbridge[]): Promise<boolean> {
  print(`\n=== ${user.sub} (groups: ${user.groups.join(', ')}) signs in to Acme Chat through the enterprise SSO`);
  const idToken = await demoIdToken(user, 'acme-chat');
  const onCall = (call: TracedCall) => print(`\n${formatCall(call, label(call, all))}`);
  let ok = true;
  const chat = await connectChatClient({
    origins: all,
    identityAssertion: () => ({ token: idToken, type: ID_TOKEN_TYPE }),
    onCall,
  });
  try {
    await chat.client.listTools();
    const listed = await chat.client.callTool({ name: 'list_todos', arguments: {} });
    print(`\n  list_todos → ${JSON.stringify(listed.structuredContent)}`);
    try {
      const added = await chat.client.callTool({ name: 'add_todo', arguments: { text: 'try MCP EMA with actbridge' } });
      print(`\n  add_todo → ${JSON.stringify(added.structuredContent)}`);
      ok &&= user.expectWrite;
    } catch (error) {
      print(`\n  add_todo refused: ${(error as Error).message}`);
      ok &&= !user.expectWrite;
    }
  } catch (error) {
    print(`\n  unexpected failure: ${(error as Error).stack ?? String(error)}`);
    ok = false;
  } finally {
    await chat.close();
  }
  await new Promise((r) => setTimeout(r, 200)); // the audit lines of the last calls
  for (const side of sides) for (const line of side.takeAudit()) print(`  [${side.side} audit] ${auditSummary(line)}`);
  print(ok ? `\n  ${user.sub}: as expected` : `\n  ${user.sub}: NOT as expected`);
  return ok;
}

async function main(): Promise<number> {
  const all = origins();
  print('actbridge: MCP Enterprise-Managed Authorization example, DEVELOPMENT MODE');
  print('  (start-dev: ephemeral keys, the demo SSO whose private key is public, plaintext demo secrets)');
  print(`  enterprise IdP ${all.enterprise}   MCP authorization server ${all.mcpAs}   MCP server ${all.mcpServer}/mcp`);
  const started: Actbridge[] = [];
  let mcp: Awaited<ReturnType<typeof startTodoMcpServer>> | undefined;
  try {
    started.push(await startActbridge('enterprise', all));
    started.push(await startActbridge('mcp-as', all));
    const port = Number(new URL(all.mcpServer).port);
    mcp = await startTodoMcpServer({ port, publicOrigin: all.mcpServer, authorizationServer: all.mcpAs });
    let ok = true;
    for (const user of USERS) ok = (await session(user, all, started)) && ok;
    print(ok ? '\nAll calls ended as expected.' : '\nSome calls did not end as expected.');
    return ok ? 0 : 1;
  } finally {
    await mcp?.close();
    await Promise.all(started.map((side) => side.stop()));
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`example failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
