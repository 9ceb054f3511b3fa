import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { stringify } from 'yaml';
import { startBuiltServer, type BuiltServer } from '../support/built-server.js';
import { jsonLines } from '../support/server-process.js';
import { createTestIssuer, type TestIssuer } from '../support/test-issuer.js';
import { hashClientSecret } from '../../src/clients/client-secret.js';

const AUDIENCE = 'urn:actbridge:reload-test';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const hashes = new Map<string, string>();
const client = (id: string) => ({
  client_id: id,
  token_endpoint_auth_method: 'client_secret_basic',
  client_secret_hash: hashes.get(id),
  grant_types: [TOKEN_EXCHANGE],
  audiences: ['https://api.example.com'],
  default_audience: 'https://api.example.com',
});
const anchor = (idp: TestIssuer) => ({ issuer: idp.issuer, audiences: [AUDIENCE], jwks: idp.publicJwks });

/**
 * SIGHUP re-reads trust anchors, clients and signing keys of the built server (`node dist/main.js`
 * serve, a production configuration), exactly as startup reads them: a good change is in force for the
 * next request and audited; a broken file is refused with startup's one line and the server keeps
 * serving on the configuration in force.
 */
describe('reload on SIGHUP', () => {
  let server: BuiltServer;
  let partner: TestIssuer;
  let newcomer: TestIssuer;
  const keyFile = (name: string) => join(server.dir, 'keys', name);

  const exchange = async (idp: TestIssuer, clientId = 'gateway') =>
    exchangeToken(await idp.mint({ sub: 'alice', aud: AUDIENCE }), clientId);

  const exchangeToken = async (subjectToken: string, clientId = 'gateway') => {
    const response = await fetch(`${server.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${clientId}:${clientId}-secret-0123456789`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: TOKEN_EXCHANGE,
        subject_token: subjectToken,
        subject_token_type: ACCESS_TOKEN,
      }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  const OUTCOME = /reload \(SIGHUP\) refused|configuration reloaded \(SIGHUP\)/g;
  /** The log as text: each JSON log entry's message (multi-line messages keep their lines), colours removed. */
  const plain = () =>
    server
      .output()
      .split('\n')
      .map((line) => {
        try {
          const entry = JSON.parse(line) as { msg?: unknown };
          return typeof entry.msg === 'string' ? entry.msg : line;
        } catch {
          return line;
        }
      })
      .join('\n')
      // eslint-disable-next-line no-control-regex
      .replace(/\x1b\[[0-9;]*m/g, '');

  /** Sends SIGHUP and waits for its outcome; returns the log from the outcome line on (colours removed). */
  const reload = async (): Promise<string> => {
    const before = plain().match(OUTCOME)?.length ?? 0;
    server.child.kill('SIGHUP');
    const deadline = Date.now() + 10_000;
    for (;;) {
      const text = plain();
      const outcomes = [...text.matchAll(OUTCOME)];
      if (outcomes.length > before) {
        // Give a multi-line message its last line.
        await new Promise((r) => setTimeout(r, 50));
        return plain().slice(outcomes[before]!.index);
      }
      if (Date.now() > deadline) throw new Error(`no reload outcome:\n${text}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  const auditLines = () => jsonLines(readFileSync(server.auditFile, 'utf8'));

  const jwksKids = async () =>
    ((await (await fetch(`${server.baseUrl}/.well-known/jwks.json`)).json()) as { keys: JWK[] }).keys.map((k) => k.kid);

  const newKey = async (kid: string): Promise<JWK> => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    return { ...(await exportJWK(privateKey)), kid, alg: 'ES256' };
  };

  beforeAll(async () => {
    partner = await createTestIssuer('https://partner.reload.example');
    newcomer = await createTestIssuer('https://newcomer.reload.example');
    for (const id of ['gateway', 'batch']) hashes.set(id, await hashClientSecret(`${id}-secret-0123456789`));
    server = await startBuiltServer({
      anchors: { partner: anchor(partner) },
      clients: [client('gateway'), client('batch')],
      env: { SIGNING_KEYS_RELOAD_INTERVAL: '0' },
    });
    // Two secrets hashed and a server started: slow on a busy machine.
  }, 60_000);
  afterAll(async () => server?.dispose());

  it('serves on the startup configuration until told', async () => {
    expect((await exchange(partner)).status).toBe(200);
    expect(await exchange(newcomer)).toEqual({
      status: 400,
      body: { error: 'invalid_request', error_description: 'subject_token issuer is not trusted' },
    });
  });

  it('a new anchor file: the next request trusts its issuer; the reload is audited', async () => {
    writeFileSync(join(server.dir, 'trust-anchors', 'newcomer.yaml'), stringify(anchor(newcomer)));
    expect(await reload()).toMatch(/^configuration reloaded \(SIGHUP\): anchors \+newcomer\n/);
    expect((await exchange(newcomer)).status).toBe(200);
    expect((await exchange(partner)).status).toBe(200);
    expect(
      auditLines()
        .filter((l) => l.event === 'config.reloaded')
        .at(-1),
    ).toMatchObject({
      event: 'config.reloaded',
      trigger: 'SIGHUP',
      generation: 2,
      changes: {
        anchors: { added: ['newcomer'], removed: [], changed: [] },
        clients: { added: [], removed: [], changed: [] },
        keys: { added: [], removed: [] },
      },
    });
  });

  it('a broken anchor file: refused with the file and field, the configuration in force keeps serving', async () => {
    const file = join(server.dir, 'trust-anchors', 'newcomer.yaml');
    writeFileSync(file, stringify({ ...anchor(newcomer), audiences: 'not-a-list' }));
    // The same message as startup: the file and the field, in one line.
    expect(await reload()).toMatch(
      new RegExp(
        `^reload \\(SIGHUP\\) refused, the configuration in force is unchanged: configuration error: ${file}: audiences: `,
      ),
    );
    expect(server.child.exitCode).toBeNull();
    expect((await exchange(newcomer)).status).toBe(200);
    expect((await exchange(partner)).status).toBe(200);

    writeFileSync(file, stringify(anchor(newcomer)));
    expect(await reload()).toMatch(/^configuration reloaded \(SIGHUP\): no changes\n/);
  });

  it('a removed client is refused from the next request on', async () => {
    expect((await exchange(partner, 'batch')).status).toBe(200);
    writeFileSync(join(server.dir, 'clients.yaml'), stringify({ clients: [client('gateway')] }));
    expect(await reload()).toMatch(/^configuration reloaded \(SIGHUP\): clients -batch\n/);
    expect(await exchange(partner, 'batch')).toEqual({
      status: 401,
      body: { error: 'invalid_client', error_description: 'client authentication failed' },
    });
    expect((await exchange(partner, 'gateway')).status).toBe(200);
  });

  it('a token presented again is verified afresh once its issuer key is replaced under the same kid', async () => {
    const token = await partner.mint({ sub: 'alice', aud: AUDIENCE });
    expect((await exchangeToken(token)).status).toBe(200);
    expect((await exchangeToken(token)).status).toBe(200); // its signature now remembered (VERIFIED_TOKEN_CACHE)
    const anchorFile = join(server.dir, 'trust-anchors', 'partner.yaml');
    const { d: _private, ...impostor } = await newKey(partner.kid);
    writeFileSync(anchorFile, stringify({ ...anchor(partner), jwks: { keys: [{ ...impostor, use: 'sig' }] } }));
    expect(await reload()).toMatch(/^configuration reloaded \(SIGHUP\): anchors ~partner\n/);
    expect(await exchangeToken(token)).toEqual({
      status: 400,
      body: { error: 'invalid_request', error_description: 'subject_token signature is invalid' },
    });
    writeFileSync(anchorFile, stringify(anchor(partner)));
    expect(await reload()).toMatch(/^configuration reloaded \(SIGHUP\): anchors ~partner\n/);
    expect((await exchangeToken(token)).status).toBe(200);
  });

  it('signing keys: a key added is published at once; a reused kid with other material is refused', async () => {
    expect(await jwksKids()).toEqual(['sts-1']);
    writeFileSync(keyFile('next.json'), JSON.stringify(await newKey('sts-2')));
    // Two private keys: which one signs must be said, by file name (SIGNING_KEY_ID would need a restart).
    expect(await reload()).toContain(
      `SIGNING_KEY_ID: ${join(server.dir, 'keys')} holds 2 private keys; name the active one (sts-2, sts-1), or mark its file *.active.json`,
    );
    expect(await jwksKids()).toEqual(['sts-1']);
    renameSync(keyFile('sts-1.json'), keyFile('sts-1.active.json'));
    expect(await reload()).toMatch(/^configuration reloaded \(SIGHUP\): keys \+sts-2\n/);
    expect(await jwksKids()).toEqual(['sts-1', 'sts-2']);

    writeFileSync(keyFile('next.json'), JSON.stringify(await newKey('sts-2')));
    const line = await reload();
    expect(line).toContain(
      `${keyFile('next.json')}: kid "sts-2" was published with other key material; a kid is never reused`,
    );
    expect(await jwksKids()).toEqual(['sts-1', 'sts-2']);
    rmSync(keyFile('next.json'));
    // sts-2 never signed: it leaves the JWKS at once.
    expect(await reload()).toMatch(/^configuration reloaded \(SIGHUP\): keys -sts-2\n/);
    expect(await jwksKids()).toEqual(['sts-1']);
  });

  it('SIGHUP never stops the server', async () => {
    renameSync(join(server.dir, 'clients.yaml'), join(server.dir, 'clients.yaml.bak'));
    expect(await reload()).toContain(`${join(server.dir, 'clients.yaml')}: cannot be read (ENOENT)`);
    expect(server.child.exitCode).toBeNull();
    expect((await fetch(`${server.baseUrl}/health/live`)).status).toBe(200);
  });
});
