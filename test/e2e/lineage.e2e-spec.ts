import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import { freePort } from '../support/free-port.js';
import {
  claimsOf,
  GRANT_TOKEN_EXCHANGE,
  postForm,
  postToken,
  startTestApp,
  TT,
  type TestApp,
} from '../support/test-app.js';
import { createTestIssuer, type TestIssuer } from '../support/test-issuer.js';
import { describeWithRedis, REDIS_TEST_URL } from '../support/redis.js';
import { createActbridgeVerifier, type ActbridgeVerifier } from '../../src/verify/index.js';
import { LINEAGE_STORE, type LineageStore } from '../../src/stores/lineage-store.js';

const describeRedis = await describeWithRedis();
const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

/**
 * Lineage and cascade revocation across two instances sharing Redis: user token → A → B → C through
 * three real exchanges, A revoked at instance 1, B and C refused at instance 2, introspection inactive,
 * a resource server using actbridge/verify refusing C after its next revocation-list refresh.
 */

const STS_AUD = 'urn:actbridge:test';
const API = 'https://api.example';
const SECRET = 'client-secret-0123456789';
const agent = (id: string, audiences: string[]) => ({
  client_id: id,
  token_endpoint_auth_method: 'client_secret_basic',
  client_secret: SECRET,
  audiences,
  scopes: ['read'],
});
const clients = [
  agent('orchestrator', ['sub-agent']),
  agent('sub-agent', ['tool']),
  agent('tool', ['worker']),
  agent('worker', [API]),
  { ...agent('operator', []), grant_types: [], revocation_admin: true },
  { ...agent('api', []), grant_types: [], resource_audiences: [API] },
];
const basic = (id: string) => ({ basic: [id, SECRET] as [string, string] });

let idp: TestIssuer;
/** An IdP whose anchor rule forms the issued `sub` ("employee:<sub>"). */
let hr: TestIssuer;
let one: TestApp;
let two: TestApp;
let keyDir: string;
let verifier: ActbridgeVerifier;

const post = (app: TestApp, path: string, form: Record<string, string>, clientId: string) =>
  postForm(app, path, form, [clientId, SECRET]);

const exchange = (app: TestApp, subjectToken: string, clientId: string, audience: string) =>
  postToken(
    app,
    { grant_type: GRANT_TOKEN_EXCHANGE, subject_token: subjectToken, subject_token_type: TT.accessToken, audience },
    basic(clientId),
  );

/** user token → A (orchestrator) → B (sub-agent) → C (tool, for the worker), all at instance one; each for the next. */
async function chain(sub: string): Promise<{ user: string; a: string; b: string; c: string }> {
  const user = await idp.mint({ sub, aud: STS_AUD, scope: 'read', jti: randomUUID() });
  const tokens = [user];
  for (const [clientId, audience] of [
    ['orchestrator', 'sub-agent'],
    ['sub-agent', 'tool'],
    ['tool', 'worker'],
  ] as const) {
    const res = await exchange(one, tokens.at(-1)!, clientId, audience);
    expect(res.status).toBe(200);
    tokens.push(res.body.access_token as string);
  }
  const [, a, b, c] = tokens as [string, string, string, string];
  return { user, a, b, c };
}
const jti = (token: string) => claimsOf(token).jti as string;

beforeAll(async () => {
  idp = await createTestIssuer('https://idp.example');
  hr = await createTestIssuer('https://hr.example');
  keyDir = mkdtempSync(join(tmpdir(), 'actbridge-keys-'));
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  writeFileSync(join(keyDir, 'key.json'), JSON.stringify({ ...(await exportJWK(privateKey)), kid: 'shared' }));
  // One issuer, served by instance one on its port (the resource server discovers it there).
  const port = await freePort();
  const options = {
    anchors: {
      idp: { issuer: idp.issuer, jwks: idp.publicJwks, audiences: [STS_AUD] },
      hr: {
        issuer: hr.issuer,
        jwks: hr.publicJwks,
        audiences: [STS_AUD],
        rules: [
          {
            name: 'employees',
            condition: 'true',
            grants: { audiences: ['sub-agent'], scopes: ['read'], subject: '"employee:" + claims.sub' },
          },
        ],
      },
    },
    clients,
    env: {
      REDIS_URL: REDIS_TEST_URL,
      ISSUER: `http://127.0.0.1:${port}`,
      SIGNING_KEYS: join(keyDir, 'key.json'),
      REDIS_TIMEOUT_MS: '10000',
    },
  };
  one = await startTestApp({ ...options, port });
  two = await startTestApp(options);
  verifier = createActbridgeVerifier({
    issuer: one.issuer,
    audience: 'worker',
    allowInsecureRequests: true,
    // Instance two's list: the revocation made at instance one reaches it through the shared store.
    revocationList: { url: `${two.baseUrl}/oauth/revocations`, refreshInterval: 0.5 },
  });
});

afterAll(async () => {
  await verifier?.close();
  await one?.close();
  await two?.close();
  rmSync(keyDir, { recursive: true, force: true });
});

describeRedis('cascade revocation across two instances', () => {
  it('revoking A at instance one refuses B and C at instance two; all inactive; the resource server refuses C', async () => {
    const { a, b, c } = await chain(`alice-${randomUUID()}`);
    await expect(verifier.verify(c)).resolves.toMatchObject({ jti: jti(c) });
    // The audit lines record the lineage: A from the upstream root, B from A, C from B.
    const issued = one.audit.lines.filter((line) => line.event === 'token.issued').slice(-3);
    expect(issued.map((line) => line.parent_jti)).toEqual([[expect.stringMatching(/^root:/)], [jti(a)], [jti(b)]]);

    const revoked = await post(one, '/oauth/revoke', { token: a }, 'orchestrator');
    expect(revoked.status).toBe(200);
    expect(one.audit.lines.at(-1)).toMatchObject({
      event: 'token.revoked',
      revoked_by: 'client',
      jti: jti(a),
      descendants_revoked: 2,
    });
    // Revoked already, or issued from a revoked token: 200 (RFC 7009 §2.2), nothing revoked again.
    for (const [token, clientId] of [
      [a, 'orchestrator'],
      [b, 'sub-agent'],
    ] as const) {
      expect((await post(one, '/oauth/revoke', { token }, clientId)).status).toBe(200);
      expect(one.audit.lines.at(-1)).toMatchObject({ event: 'token.revocation_ignored', client_id: clientId });
    }

    for (const [token, clientId, audience] of [
      [b, 'tool', 'worker'],
      [c, 'worker', API],
    ] as const) {
      const res = await exchange(two, token, clientId, audience);
      expect({ status: res.status, body: res.body }).toEqual({
        status: 400,
        body: { error: 'invalid_grant', error_description: 'subject_token was issued from a revoked token' },
      });
    }
    expect((await exchange(two, a, 'sub-agent', 'tool')).body).toEqual({
      error: 'invalid_request',
      error_description: 'subject_token has been revoked',
    });
    for (const [token, clientId] of [
      [a, 'orchestrator'],
      [b, 'sub-agent'],
      [c, 'worker'],
    ] as const) {
      expect((await post(two, '/oauth/introspect', { token }, clientId)).json).toEqual({ active: false });
    }

    // No call per verification: the list refreshes every 0.5 s in the background.
    const deadline = Date.now() + 10_000;
    let outcome: unknown;
    while (Date.now() < deadline) {
      outcome = await verifier.verify(c).catch((error: unknown) => error);
      if (outcome instanceof Error) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(outcome).toMatchObject({ error: 'invalid_token', description: 'token has been revoked' });
  });

  it('a revocation the store cut short mid-cascade (503) is completed by its retry: the list names every descendant', async () => {
    const { a, b, c } = await chain(`grace-${randomUUID()}`);
    const lineage = one.app.get<LineageStore>(LINEAGE_STORE);
    const children = lineage.children;
    // The store fails once, after A is flagged and before its children are read.
    lineage.children = () => {
      lineage.children = children;
      return Promise.reject(new Error('Command timed out'));
    };
    const cut = await post(one, '/oauth/revoke', { token: a }, 'orchestrator');
    expect(cut).toEqual({
      status: 503,
      json: {
        error: 'temporarily_unavailable',
        error_description: 'cannot check token revocation right now; retry later',
      },
    });
    const listed = async () =>
      (claimsOf(await (await fetch(`${two.baseUrl}/oauth/revocations`)).text()).revoked as Array<{ jti: string }>).map(
        (entry) => entry.jti,
      );
    expect(await listed()).not.toContain(jti(c));
    // RFC 7009 §2.2 and the 503's own advice: the client retries; the retry revokes what the first did not reach.
    expect((await post(one, '/oauth/revoke', { token: a }, 'orchestrator')).status).toBe(200);
    expect(one.audit.lines.at(-1)).toMatchObject({ event: 'token.revoked', jti: jti(a), descendants_revoked: 2 });
    expect(await listed()).toEqual(expect.arrayContaining([jti(a), jti(b), jti(c)]));
    // Once complete, a further retry revokes nothing: 200, ignored.
    expect((await post(one, '/oauth/revoke', { token: a }, 'orchestrator')).status).toBe(200);
    expect(one.audit.lines.at(-1)).toMatchObject({ event: 'token.revocation_ignored', client_id: 'orchestrator' });
  });

  it('the revocation list: a signed JWT with ETag, 304 when unchanged, a new version after a revocation', async () => {
    const first = await fetch(`${two.baseUrl}/oauth/revocations`);
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag')!;
    expect(first.headers.get('cache-control')).toBe('public, max-age=5');
    const list = await first.text();
    expect(decodeProtectedHeader(list).typ).toBe('revocation-list+jwt');
    expect(claimsOf(list)).toMatchObject({ iss: one.issuer, revoked: expect.any(Array) });
    const again = await fetch(`${two.baseUrl}/oauth/revocations`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    // RFC 9110 §13.1.2: "*" is false whenever the resource has a current representation, as the list always has.
    const any = await fetch(`${two.baseUrl}/oauth/revocations`, { headers: { 'if-none-match': '*' } });
    expect(any.status).toBe(304);
    expect(any.headers.get('etag')).toBe(etag);
    // The ETag names the store's version of the list: the other instance answers 304 to it too.
    const elsewhere = await fetch(`${one.baseUrl}/oauth/revocations`, { headers: { 'if-none-match': etag } });
    expect(elsewhere.status).toBe(304);

    const { c } = await chain(`bob-${randomUUID()}`);
    expect((await post(one, '/oauth/revoke', { token: c }, 'tool')).status).toBe(200);
    const changed = await fetch(`${two.baseUrl}/oauth/revocations`, { headers: { 'if-none-match': etag } });
    expect(changed.status).toBe(200);
    expect(claimsOf(await changed.text()).revoked).toContainEqual({ jti: jti(c), exp: claimsOf(c).exp });
    const metadata = (await (await fetch(`${two.baseUrl}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      unknown
    >;
    expect(metadata.revocation_list_uri).toBe(`${one.issuer}/oauth/revocations`);
  });

  it('an admin client revokes everything a subject holds; the upstream token cannot be exchanged again', async () => {
    const sub = `carol-${randomUUID()}`;
    const { user, b, c } = await chain(sub);
    const other = await chain(`dave-${randomUUID()}`);
    const refused = await post(one, '/admin/revoke', { root_issuer: idp.issuer, sub }, 'tool');
    expect(refused).toEqual({
      status: 400,
      json: { error: 'unauthorized_client', error_description: 'this client may not revoke as an administrator' },
    });
    const res = await post(two, '/admin/revoke', { root_issuer: idp.issuer, sub }, 'operator');
    expect(res).toEqual({ status: 200, json: { revoked: expect.stringMatching(/^sub:/), descendants_revoked: 3 } });
    expect(two.audit.lines.at(-1)).toMatchObject({
      event: 'token.revoked',
      revoked_by: 'admin',
      descendants_revoked: 3,
    });
    expect((await exchange(one, c, 'worker', API)).body).toMatchObject({ error: 'invalid_grant' });
    expect((await post(one, '/oauth/introspect', { token: b }, 'sub-agent')).json).toEqual({ active: false });
    expect((await exchange(one, user, 'orchestrator', 'sub-agent')).status).toBe(400);
    // Another subject's chain is untouched.
    expect((await post(one, '/oauth/introspect', { token: other.c }, 'worker')).json).toMatchObject({ active: true });
    const get = await fetch(`${one.baseUrl}/admin/revoke`);
    expect({ status: get.status, allow: get.headers.get('allow'), json: await get.json() }).toEqual({
      status: 405,
      allow: 'POST',
      json: { error: 'invalid_request', error_description: 'the admin revocation endpoint accepts POST only' },
    });
    const bad = await post(one, '/admin/revoke', { root_issuer: idp.issuer }, 'operator');
    expect(bad.json).toEqual({
      error: 'invalid_request',
      error_description: 'name exactly one of: jti; root_issuer with root_jti; root_issuer with sub',
    });
  });

  it('revoking an upstream subject reaches the tokens whose `sub` a rule formed, and the revocation list names them', async () => {
    const sub = `frank-${randomUUID()}`;
    const user = await hr.mint({ sub, aud: STS_AUD, scope: 'read', jti: randomUUID() });
    const a = (await exchange(one, user, 'orchestrator', 'sub-agent')).body.access_token as string;
    expect(claimsOf(a).sub).toBe(`employee:${sub}`);
    const b = (await exchange(two, a, 'sub-agent', 'tool')).body.access_token as string;
    const res = await post(two, '/admin/revoke', { root_issuer: hr.issuer, sub }, 'operator');
    expect(res).toEqual({ status: 200, json: { revoked: expect.stringMatching(/^sub:/), descendants_revoked: 2 } });
    expect((await post(one, '/oauth/introspect', { token: b }, 'sub-agent')).json).toEqual({ active: false });
    const listed = (
      claimsOf(await (await fetch(`${one.baseUrl}/oauth/revocations`)).text()).revoked as Array<{
        jti: string;
      }>
    ).map((entry) => entry.jti);
    expect(listed).toEqual(expect.arrayContaining([jti(a), jti(b)]));
  });

  it('a wide tree: 300 tokens exchanged from one, all revoked with it (through both instances)', async () => {
    const user = await idp.mint({ sub: `wide-${randomUUID()}`, aud: STS_AUD, scope: 'read', jti: randomUUID() });
    const a = (await exchange(one, user, 'orchestrator', 'sub-agent')).body.access_token as string;
    const children: string[] = [];
    for (let batch = 0; batch < 30; batch++) {
      const issued = await Promise.all(
        Array.from({ length: 10 }, (_, i) => exchange(i % 2 ? one : two, a, 'sub-agent', 'tool')),
      );
      for (const res of issued) children.push(res.body.access_token as string);
    }
    expect(children.filter(Boolean)).toHaveLength(300);
    expect((await post(two, '/oauth/revoke', { token: a }, 'orchestrator')).status).toBe(200);
    expect(two.audit.lines.at(-1)).toMatchObject({ event: 'token.revoked', descendants_revoked: 300 });
    const listed = new Set(
      (claimsOf(await (await fetch(`${one.baseUrl}/oauth/revocations`)).text()).revoked as Array<{ jti: string }>).map(
        (entry) => entry.jti,
      ),
    );
    expect(children.every((child) => listed.has(jti(child)))).toBe(true);
    expect((await exchange(one, children[299]!, 'tool', 'worker')).body).toMatchObject({ error: 'invalid_grant' });
  }, 60_000);

  it('npm run lineage prints the tree; npm run revoke revokes an upstream root and its descendants', async () => {
    const rootJti = randomUUID();
    const user = await idp.mint({ sub: `erin-${randomUUID()}`, aud: STS_AUD, scope: 'read', jti: rootJti });
    const a = (await exchange(one, user, 'orchestrator', 'sub-agent')).body.access_token as string;
    const b = (await exchange(two, a, 'sub-agent', 'tool')).body.access_token as string;
    const env = {
      ...process.env,
      REDIS_URL: REDIS_TEST_URL,
      ISSUER: one.issuer,
      TRUST_ANCHORS_DIR: join(one.dir, 'trust-anchors'),
      CLIENTS_FILE: join(one.dir, 'clients.yaml'),
      CONNECTIONS_DIR: join(one.dir, 'connections'),
      AUDIT_LOG: join(one.dir, 'operator-audit.log'),
      LOG_LEVEL: 'error',
    };
    const tree = await run('node', [join(ROOT, 'dist/cli/lineage.js'), '--jti', jti(a)], { env });
    expect(tree.stdout).toContain(`ancestors:\n   ↑ root:`);
    expect(tree.stdout).toContain(
      `token:\n   ${jti(a)} typ=at+jwt client=orchestrator actor=orchestrator aud=sub-agent`,
    );
    expect(tree.stdout).toMatch(
      new RegExp(`descendants:\n   └─ ${jti(b)} typ=at\\+jwt client=sub-agent .* not revoked`),
    );

    const revoked = await run(
      'node',
      [join(ROOT, 'dist/cli/revoke.js'), '--root-issuer', idp.issuer, '--root-jti', rootJti],
      { env },
    );
    expect(revoked.stdout).toMatch(/^revoked root:\S+ until .* and 2 descendant\(s\)/);
    expect((await exchange(two, b, 'tool', 'worker')).body).toMatchObject({ error: 'invalid_grant' });
    expect((await exchange(one, user, 'orchestrator', 'sub-agent')).body).toEqual({
      error: 'invalid_request',
      error_description: 'subject_token has been revoked',
    });
    const after = await run('node', [join(ROOT, 'dist/cli/lineage.js'), '--jti', jti(b)], { env });
    expect(after.stdout).toContain('REVOKED (through root:');
  });
});
