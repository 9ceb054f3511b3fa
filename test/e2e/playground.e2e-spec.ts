import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair } from 'jose';
import { stringify } from 'yaml';
import { ConfigReloader } from '../../src/app/config-reloader.js';
import { hashClientSecret } from '../../src/clients/client-secret.js';
import type { DemoIdp } from '../../src/demo-idp/demo-idp.js';
import { startBuiltServer } from '../support/built-server.js';
import { freePort } from '../support/free-port.js';
import { demoClients, demoIdp, demoIdpAnchor, DEMO_SECRETS } from '../support/playground.js';
import { claimsOf, GRANT_TOKEN_EXCHANGE, postToken, startTestApp, TT, type TestApp } from '../support/test-app.js';
import { createTestIssuer, type TestIssuer } from '../support/test-issuer.js';
import { dpopProof, newDpopKey } from '../support/dpop.js';

/**
 * `/playground` over real HTTP (the browser test, playground-browser.e2e-spec.ts, drives the page): on
 * by default only under start-dev, absent (404) in production unless PLAYGROUND=on, and its helpers
 * answer a caller only about requests it made itself (the page reference), never minting outside
 * development, never showing operator detail in production.
 */

const NOT_FOUND = { error: 'not_found', error_description: 'no such endpoint' };
const asAgent = { basic: ['demo-agent', DEMO_SECRETS.agent] as [string, string] };

let dev: TestApp;
let idp: DemoIdp;

async function get(app: TestApp, path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${app.baseUrl}${path}`, { headers });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: () => JSON.parse(text) as Record<string, unknown>,
  };
}

async function postForm(
  app: TestApp,
  path: string,
  form: Array<[string, string]>,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${app.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

/** The playground's explain of the page's request `pageRef`, for an access token and `extra` parameters. */
const explain = (app: TestApp, pageRef: string, subjectToken: string, extra: Array<[string, string]> = []) =>
  postForm(app, '/playground/explain', [
    ['ref', pageRef],
    ['subject_token', subjectToken],
    ['subject_token_type', TT.accessToken],
    ...extra,
  ]);

function ref(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(18))).toString('base64url');
}

/** A user token exchanged by demo-agent for demo-tool; `extra` adds to the form, `headers` to the request. */
async function agentExchange(
  app: TestApp,
  headers: Record<string, string>,
  extra: Record<string, string> = {},
  auth = asAgent,
) {
  const form = {
    grant_type: GRANT_TOKEN_EXCHANGE,
    subject_token: await idp.userToken(),
    subject_token_type: TT.accessToken,
    audience: 'demo-tool',
    ...extra,
  };
  return postToken(app, form, { ...auth, headers });
}

/** The same with scope read, tagged with a page reference; `extra` overrides the form. */
function exchangeAsPage(app: TestApp, pageRef: string, extra: Record<string, string> = {}, auth = asAgent) {
  return agentExchange(app, { 'x-playground-ref': pageRef }, { scope: 'read', ...extra }, auth);
}

beforeAll(async () => {
  idp = await demoIdp();
  dev = await startTestApp({
    anchors: {
      'demo-idp': demoIdpAnchor({
        rules: [
          {
            name: 'agents',
            condition: 'client_id == "demo-agent" && sub == "alice"',
            grants: { audiences: ['demo-tool', 'https://api.example.com'], scopes: ['read'] },
          },
        ],
      }),
    },
    clients: demoClients('https://domain-b.example'),
  });
});

afterAll(async () => {
  await dev?.close();
});

describe('development (start-dev): /playground is on by default', () => {
  it('serves the page and its files from this server, under a CSP that allows nothing else', async () => {
    const page = await get(dev, '/playground');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    );
    expect(page.headers.get('cache-control')).toBe('no-store');
    // Every script and style is a relative URL of this server: no CDN, nothing fetched elsewhere.
    const urls = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(urls).toEqual(['data:,', 'playground/playground.css', 'playground/app.js', '#exchange-form']);
    for (const name of ['app.js', 'chain.js', 'jwt.js', 'dpop.js', 'render.js']) {
      const script = await get(dev, `/playground/${name}`);
      expect([script.status, script.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
      expect(script.text).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    }
    expect((await get(dev, '/playground/playground.css')).headers.get('content-type')).toBe('text/css; charset=utf-8');
    const slash = await fetch(`${dev.baseUrl}/playground/`, { redirect: 'manual' });
    expect([slash.status, slash.headers.get('location')]).toEqual([308, '../playground']);
    expect((await get(dev, '/playground/index.html')).status).toBe(404);
  });

  it('settings: mode, issuer, token endpoint, depth limit, no peer', async () => {
    expect((await get(dev, '/playground/settings')).json()).toEqual({
      mode: 'development',
      issuer: dev.issuer,
      token_endpoint: `${dev.issuer}/oauth/token`,
      max_chain_depth: 5,
      peer: null,
      demo: true,
    });
  });

  it('lists the demo clients by policy, with a published demo secret only where it authenticates', async () => {
    const demo = (await get(dev, '/playground/demo')).json() as { clients: Array<Record<string, unknown>> };
    expect(demo.clients.map((c) => [c.client_id, c.demo_secret])).toEqual([
      ['demo-agent', DEMO_SECRETS.agent],
      ['demo-tool', DEMO_SECRETS.tool],
      ['chat-agent', DEMO_SECRETS.chat],
    ]);
    expect(demo.clients[1]).toEqual({
      client_id: 'demo-tool',
      name: 'Demo tool (MCP server)',
      auth_method: 'client_secret_post',
      grant_types: [GRANT_TOKEN_EXCHANGE],
      audiences: ['https://mcp.example.com', 'demo-agent'],
      scopes: ['read'],
      demo_secret: DEMO_SECRETS.tool,
    });
  });

  it('mints demo tokens the token endpoint accepts, and refuses a malformed request for one', async () => {
    const minted = await postForm(dev, '/playground/demo-token', [
      ['kind', 'user'],
      ['sub', 'bob'],
    ]);
    expect(minted.status).toBe(200);
    expect(minted.headers.get('cache-control')).toBe('no-store');
    expect(minted.body.token_type).toBe(TT.accessToken);
    expect(claimsOf(minted.body.token as string)).toMatchObject({ sub: 'bob', scope: 'read write' });
    const idToken = await postForm(dev, '/playground/demo-token', [
      ['kind', 'id_token'],
      ['client_id', 'chat-agent'],
    ]);
    expect(claimsOf(idToken.body.token as string)).toMatchObject({ sub: 'alice', aud: 'chat-agent' });
    expect(await postForm(dev, '/playground/demo-token', [['kind', 'admin']])).toMatchObject({
      status: 400,
      body: { error: 'invalid_request', error_description: 'kind must be user, agent or id_token' },
    });
    expect(
      await postForm(dev, '/playground/demo-token', [
        ['kind', 'user'],
        ['sub', 'a b'],
      ]),
    ).toMatchObject({
      status: 400,
      body: { error: 'invalid_request', error_description: 'sub must be 1-64 letters, digits or ._@:-' },
    });
  });

  it('audit: a page gets back exactly the line its own request left, by its reference only', async () => {
    const pageRef = ref();
    const issued = await exchangeAsPage(dev, pageRef);
    expect(issued.status).toBe(200);
    const line = dev.audit.lines.at(-1)!;
    expect(line).toMatchObject({ event: 'token.issued', client_id: 'demo-agent' });
    expect(await postForm(dev, '/playground/audit', [['ref', pageRef]])).toEqual({
      status: 200,
      headers: expect.anything(),
      body: { line },
    });

    // The token endpoint by a percent-encoded path is the same route, and its line is kept for the page too.
    const encodedRef = ref();
    const viaEncoded = await exchangeAsPage({ ...dev, tokenEndpoint: `${dev.baseUrl}/oauth/%74oken` }, encodedRef);
    expect(viaEncoded.status).toBe(200);
    expect((await postForm(dev, '/playground/audit', [['ref', encodedRef]])).body).toEqual({
      line: dev.audit.lines.at(-1),
    });

    // Refusals too, with the operator's reason (development).
    const refusedRef = ref();
    const refused = await exchangeAsPage(dev, refusedRef, { scope: 'read write' });
    expect(refused.body).toEqual({
      error: 'invalid_scope',
      error_description: "scope exceeds what this subject's trust anchor policy grants",
    });
    expect((await postForm(dev, '/playground/audit', [['ref', refusedRef]])).body.line).toEqual(dev.audit.lines.at(-1));
    expect(dev.audit.lines.at(-1)).toMatchObject({
      event: 'token.refused',
      reason: 'rule demo-idp/agents does not grant: write',
    });

    // A reference is bound once: a second request with it (someone else's) is not shown under it.
    await exchangeAsPage(dev, pageRef, { scope: 'read write' });
    expect((await postForm(dev, '/playground/audit', [['ref', pageRef]])).body.line).toEqual(line);
  });

  it('audit: nothing for an unknown, malformed or absent reference, or a request that sent none', async () => {
    await agentExchange(dev, {});
    const notFound = {
      status: 404,
      body: {
        error: 'not_found',
        error_description: 'no audit line for this reference (unknown, expired, or made at another instance)',
      },
    };
    expect(await postForm(dev, '/playground/audit', [['ref', ref()]])).toMatchObject(notFound);
    expect(await postForm(dev, '/playground/audit', [['ref', 'short']])).toMatchObject(notFound);
    expect(await postForm(dev, '/playground/audit', [])).toMatchObject(notFound);
    const json = await fetch(`${dev.baseUrl}/playground/audit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ref: ref() }),
    });
    expect([json.status, await json.json()]).toEqual([
      400,
      {
        error: 'invalid_request',
        error_description: 'unsupported content type: use application/x-www-form-urlencoded',
      },
    ]);
  });

  it('explain: the failing step and the rules of a refused exchange, issuing and auditing nothing', async () => {
    const pageRef = ref();
    const subject = await idp.userToken();
    await exchangeAsPage(dev, pageRef, { subject_token: subject, scope: 'read write' });
    const lines = dev.audit.lines.length;
    const explained = await explain(dev, pageRef, subject, [
      ['audience', 'demo-tool'],
      ['scope', 'read write'],
    ]);
    expect(explained.status).toBe(200);
    expect(explained.body.report).toEqual({
      client_id: 'demo-agent',
      anchor: { name: 'demo-idp', issuer: 'https://demo-idp.actbridge.invalid', has_rules: true },
      subject: { sub: 'alice', iss: 'https://demo-idp.actbridge.invalid', token_type: TT.accessToken },
      rules: [
        {
          rule: 'agents',
          result: 'matched',
          reads: [
            { path: 'client_id', value: 'demo-agent' },
            { path: 'sub', value: 'alice' },
          ],
        },
      ],
      outcome: {
        decision: 'refuse',
        step: 'delegation',
        error: 'invalid_scope',
        error_description: "scope exceeds what this subject's trust anchor policy grants",
        detail: 'rule demo-idp/agents does not grant: write',
      },
    });
    expect(explained.body.conditions).toEqual({ agents: 'client_id == "demo-agent" && sub == "alice"' });
    expect(explained.body.text).toContain('outcome   WOULD REFUSE at step "delegation"');
    expect(dev.audit.lines.length).toBe(lines);
  });

  it("explain: a token this server issued verifies (the server's own keys), as the client of the reference", async () => {
    const first = await exchangeAsPage(dev, ref());
    const pageRef = ref();
    await postToken(
      dev,
      {
        grant_type: GRANT_TOKEN_EXCHANGE,
        subject_token: first.body.access_token as string,
        subject_token_type: TT.accessToken,
        audience: 'demo-agent',
        client_id: 'demo-tool',
        client_secret: DEMO_SECRETS.tool,
      },
      { headers: { 'x-playground-ref': pageRef } },
    );
    const explained = await explain(dev, pageRef, first.body.access_token as string, [['audience', 'demo-agent']]);
    expect(explained.body.report).toMatchObject({
      client_id: 'demo-tool',
      anchor: { name: 'actbridge', issuer: dev.issuer, has_rules: false },
      outcome: { decision: 'issue', sub: 'alice', audience: ['demo-agent'], scope: 'read' },
    });
  });

  it('explain: a DPoP-bound token exchanged onwards without a proof would issue only with a proof by its key', async () => {
    const key = await newDpopKey();
    const bound = await agentExchange(dev, { dpop: await dpopProof(dev.tokenEndpoint, key) }, { scope: 'read' });
    expect(bound.body.token_type).toBe('DPoP');
    const pageRef = ref();
    const onwards = await postToken(
      dev,
      {
        grant_type: GRANT_TOKEN_EXCHANGE,
        subject_token: bound.body.access_token as string,
        subject_token_type: TT.accessToken,
        audience: 'demo-agent',
        client_id: 'demo-tool',
        client_secret: DEMO_SECRETS.tool,
      },
      { headers: { 'x-playground-ref': pageRef } },
    );
    expect(onwards.body.error_description).toBe(
      'subject_token is DPoP-bound (cnf.jkt): proof of possession required, send a DPoP proof signed with its key',
    );
    const explained = await explain(dev, pageRef, bound.body.access_token as string, [['audience', 'demo-agent']]);
    expect(explained.body.report).toMatchObject({
      outcome: { decision: 'issue', sub: 'alice', audience: ['demo-agent'], dpop_jkt: key.jkt },
    });
    expect(explained.body.text).toContain(
      `  dpop proof  required, signed with the key of thumbprint ${key.jkt} (the presented token's cnf.jkt)`,
    );
  });

  it('explain: what the token endpoint refuses the request for (a lone actor_token, a requested_token_type) is refused', async () => {
    const subject = await idp.userToken();
    const cases: Array<[Record<string, string>, string]> = [
      [{ actor_token: await idp.agentToken() }, 'actor_token_type is required with actor_token'],
      [{ actor_token_type: TT.jwt }, 'actor_token_type must not be sent without actor_token'],
      [
        { requested_token_type: 'urn:ietf:params:oauth:token-type:saml2' },
        `unsupported requested_token_type; supported: ${TT.accessToken}, ${TT.jwt}`,
      ],
    ];
    for (const [extra, description] of cases) {
      const pageRef = ref();
      const refused = await exchangeAsPage(dev, pageRef, { subject_token: subject, ...extra });
      expect(refused.body).toEqual({ error: 'invalid_request', error_description: description });
      const explained = await explain(dev, pageRef, subject, [
        ['audience', 'demo-tool'],
        ['scope', 'read'],
        ...Object.entries(extra),
      ]);
      expect(explained.body.report).toEqual({
        client_id: 'demo-agent',
        outcome: { decision: 'refuse', step: 'request', error: 'invalid_request', error_description: description },
      });
    }
  });

  it('explain: only for a reference whose client authenticated, and only for token exchange', async () => {
    const pageRef = ref();
    const wrong = await exchangeAsPage(dev, pageRef, {}, { basic: ['demo-agent', 'not-the-secret'] });
    expect(wrong.body.error).toBe('invalid_client');
    expect(await explain(dev, pageRef, 'x')).toMatchObject({
      status: 400,
      body: {
        error: 'invalid_request',
        error_description: 'explain needs a request whose client authenticated; this one was refused before',
      },
    });
    const idJagRef = ref();
    await exchangeAsPage(dev, idJagRef, { requested_token_type: 'urn:ietf:params:oauth:token-type:id-jag' });
    expect(
      await explain(dev, idJagRef, 'x', [['requested_token_type', 'urn:ietf:params:oauth:token-type:id-jag']]),
    ).toMatchObject({
      status: 400,
      body: {
        error: 'invalid_request',
        error_description: 'explain covers token exchange for access tokens, not ID-JAG requests',
      },
    });
    expect(await explain(dev, ref(), 'x')).toMatchObject({ status: 404, body: { error: 'not_found' } });
  });

  it('PLAYGROUND=off: absent', async () => {
    const off = await startTestApp({
      anchors: { 'demo-idp': demoIdpAnchor() },
      clients: demoClients('https://b.example'),
      env: { PLAYGROUND: 'off' },
    });
    try {
      for (const path of ['/playground', '/playground/app.js', '/playground/settings', '/playground/demo']) {
        expect([path, (await get(off, path)).status, (await get(off, path)).json()]).toEqual([path, 404, NOT_FOUND]);
      }
    } finally {
      await off.close();
    }
  });
});

describe('after a reload (SIGHUP), explain and the demo clients follow the configuration in force', () => {
  const agentsRule = (scopes: string[]) => ({
    name: 'agents',
    condition: 'client_id == "demo-agent" && sub == "alice"',
    grants: { audiences: ['demo-tool'], scopes },
  });
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({
      anchors: { 'demo-idp': demoIdpAnchor({ rules: [agentsRule(['read'])] }) },
      clients: demoClients('https://domain-b.example'),
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('a rule widened and a client removed by the reload are what explain and /playground/demo report', async () => {
    const explainWrite = async () => {
      const pageRef = ref();
      const subject = await idp.userToken();
      await exchangeAsPage(app, pageRef, { subject_token: subject, scope: 'read write' });
      return explain(app, pageRef, subject, [
        ['audience', 'demo-tool'],
        ['scope', 'read write'],
      ]);
    };
    expect((await explainWrite()).body.report).toMatchObject({
      outcome: { decision: 'refuse', detail: 'rule demo-idp/agents does not grant: write' },
    });
    expect(((await get(app, '/playground/demo')).json().clients as unknown[]).length).toBe(3);

    writeFileSync(
      join(app.dir, 'trust-anchors', 'demo-idp.yaml'),
      stringify(demoIdpAnchor({ rules: [agentsRule(['read', 'write'])] })),
    );
    const clients = demoClients('https://domain-b.example').filter((c) => c.client_id !== 'chat-agent');
    writeFileSync(join(app.dir, 'clients.yaml'), stringify({ clients }));
    expect(await app.app.get(ConfigReloader).reload('SIGHUP')).toMatchObject({ outcome: 'success' });

    // The token endpoint issues it now, and explain says so (before the fix: the startup policy's refusal).
    expect((await explainWrite()).body.report).toMatchObject({
      outcome: { decision: 'issue', sub: 'alice', scope: 'read write' },
    });
    const demo = (await get(app, '/playground/demo')).json() as { clients: Array<Record<string, unknown>> };
    expect(demo.clients.map((c) => c.client_id)).toEqual(['demo-agent', 'demo-tool']);
  });
});

describe('production (actbridge serve)', () => {
  let dir: string;
  let partner: TestIssuer;
  let env: Record<string, string>;
  const secret = 'gateway-secret-of-some-length';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'actbridge-playground-prod-'));
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    writeFileSync(join(dir, 'key.json'), JSON.stringify({ ...(await exportJWK(privateKey)), kid: 'prod-1' }));
    env = { SIGNING_KEYS: join(dir, 'key.json') };
    partner = await createTestIssuer('https://idp.partner.example');
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function production(extraEnv: Record<string, string> = {}): Promise<TestApp> {
    return startTestApp({
      mode: 'production',
      env: { ...env, ...extraEnv },
      anchors: {
        partner: {
          issuer: partner.issuer,
          jwks: partner.publicJwks,
          audiences: ['urn:actbridge'],
          rules: [
            {
              name: 'staff',
              condition: 'sub == "alice"',
              grants: { audiences: ['https://api.example.com'], scopes: ['read'] },
            },
          ],
        },
      },
      clients: [
        {
          client_id: 'gateway',
          token_endpoint_auth_method: 'client_secret_basic',
          client_secret_hash: await hashClientSecret(secret),
          audiences: ['https://api.example.com'],
          scopes: ['read', 'write'],
        },
      ],
    });
  }

  it('absent by default: every playground route is 404', async () => {
    const app = await production();
    try {
      for (const path of [
        '/playground',
        '/playground/',
        '/playground/app.js',
        '/playground/settings',
        '/playground/demo',
      ]) {
        const response = await get(app, path);
        expect([path, response.status, response.json()]).toEqual([path, 404, NOT_FOUND]);
      }
      for (const path of ['/playground/demo-token', '/playground/audit', '/playground/explain']) {
        const response = await postForm(app, path, [['kind', 'user']]);
        expect([path, response.status, response.body]).toEqual([path, 404, NOT_FOUND]);
      }
    } finally {
      await app.close();
    }
  });

  it("PLAYGROUND=on: the page without demo routes; the page's own line and explanation without operator detail", async () => {
    const app = await production({ PLAYGROUND: 'on' });
    try {
      expect((await get(app, '/playground')).status).toBe(200);
      expect((await get(app, '/playground/settings')).json()).toMatchObject({ mode: 'production', demo: false });
      expect(await get(app, '/playground/demo')).toMatchObject({ status: 404 });
      expect(await postForm(app, '/playground/demo-token', [['kind', 'user']])).toMatchObject({
        status: 404,
        body: NOT_FOUND,
      });

      const subject = await partner.mint({ sub: 'alice', aud: 'urn:actbridge', scope: 'read write' });
      const pageRef = ref();
      const form = {
        grant_type: GRANT_TOKEN_EXCHANGE,
        subject_token: subject,
        subject_token_type: TT.accessToken,
        audience: 'https://api.example.com',
        scope: 'read write',
      };
      const refused = await postToken(app, form, {
        basic: ['gateway', secret],
        headers: { 'x-playground-ref': pageRef },
      });
      expect(refused.body.error).toBe('invalid_scope');
      const { reason, ...shown } = app.audit.lines.at(-1)!;
      expect(reason).toBe('rule partner/staff does not grant: write');
      expect((await postForm(app, '/playground/audit', [['ref', pageRef]])).body).toEqual({ line: shown });

      const explained = await explain(app, pageRef, subject, [
        ['audience', 'https://api.example.com'],
        ['scope', 'read write'],
      ]);
      expect(explained.body.report).toMatchObject({
        outcome: { decision: 'refuse', step: 'delegation', error: 'invalid_scope' },
      });
      expect((explained.body.report as { outcome: Record<string, unknown> }).outcome).not.toHaveProperty('detail');
      expect(explained.body).not.toHaveProperty('conditions');
      expect(explained.body.text).not.toContain('does not grant');
    } finally {
      await app.close();
    }
  });

  it('PLAYGROUND=on logs a warning at startup (node dist/main.js)', async () => {
    const server = await startBuiltServer({
      anchors: { partner: { issuer: partner.issuer, jwks: partner.publicJwks, audiences: ['urn:actbridge'] } },
      clients: [
        {
          client_id: 'gateway',
          token_endpoint_auth_method: 'client_secret_basic',
          client_secret_hash: await hashClientSecret(secret),
          audiences: ['https://api.example.com'],
        },
      ],
      env: { PLAYGROUND: 'on' },
    });
    try {
      expect(server.output()).toMatch(
        new RegExp(
          `"level":"warn".*"context":"Playground".*PLAYGROUND=on in production: ${server.baseUrl.replace(/[.]/g, '\\.')}/playground is served`,
        ),
      );
      expect((await fetch(`${server.baseUrl}/playground`)).status).toBe(200);
    } finally {
      await server.dispose();
    }
  });
});

describe('PLAYGROUND_PEER: the paired page may call the token endpoint from its origin, nobody else', () => {
  let paired: TestApp;
  const peer = 'http://127.0.0.1:1';

  beforeAll(async () => {
    paired = await startTestApp({
      anchors: { 'demo-idp': demoIdpAnchor() },
      clients: demoClients('https://b.example'),
      env: { PLAYGROUND_PEER: `${peer}/` },
    });
  });

  afterAll(async () => {
    await paired?.close();
  });

  const preflight = (origin: string) =>
    fetch(paired.tokenEndpoint, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,x-playground-ref',
      },
    });

  it("answers the peer's preflight and lets it read token responses (no credentials)", async () => {
    const answer = await preflight(peer);
    expect(answer.status).toBe(204);
    expect(Object.fromEntries([...answer.headers].filter(([name]) => name.startsWith('access-control-')))).toEqual({
      'access-control-allow-origin': peer,
      'access-control-allow-methods': 'GET, POST',
      'access-control-allow-headers': 'authorization, content-type, dpop, x-playground-ref',
      'access-control-max-age': '600',
      'access-control-expose-headers': 'DPoP-Nonce',
    });
    const issued = await agentExchange(paired, { origin: peer });
    expect(issued.status).toBe(200);
    expect(issued.headers.get('access-control-allow-origin')).toBe(peer);
    expect(issued.headers.get('access-control-allow-credentials')).toBeNull();
    expect(issued.headers.get('vary')).toBe('Origin');
    // The same route by a percent-encoded path: the same CORS answer.
    const viaEncoded = await agentExchange(
      { ...paired, tokenEndpoint: `${paired.baseUrl}/oauth/%74oken` },
      { origin: peer },
    );
    expect([viaEncoded.status, viaEncoded.headers.get('access-control-allow-origin')]).toEqual([200, peer]);
    expect((await get(paired, '/playground/demo', { origin: peer })).headers.get('access-control-allow-origin')).toBe(
      peer,
    );
    // Explain and the JWKS are not for the peer's page.
    expect(
      (await get(paired, '/playground/settings', { origin: peer })).headers.get('access-control-allow-origin'),
    ).toBeNull();
    expect(
      (await get(paired, '/.well-known/jwks.json', { origin: peer })).headers.get('access-control-allow-origin'),
    ).toBeNull();
  });

  it('any other origin: no CORS headers, and OPTIONS is refused and audited as before', async () => {
    const issued = await agentExchange(paired, { origin: 'http://127.0.0.1:2' });
    expect(issued.headers.get('access-control-allow-origin')).toBeNull();
    const lines = paired.audit.lines.length;
    const answer = await preflight('http://127.0.0.1:2');
    expect([answer.status, answer.headers.get('allow'), await answer.json()]).toEqual([
      405,
      'POST',
      { error: 'invalid_request', error_description: 'the token endpoint accepts POST only' },
    ]);
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
    expect(paired.audit.lines.slice(lines)).toEqual([
      expect.objectContaining({
        event: 'token.refused',
        error: 'invalid_request',
        reason: 'the token endpoint accepts POST only',
      }),
    ]);
  });

  it('without PLAYGROUND_PEER, OPTIONS at the token endpoint is what it always was', async () => {
    const answer = await fetch(dev.tokenEndpoint, { method: 'OPTIONS', headers: { origin: peer } });
    expect([answer.status, answer.headers.get('access-control-allow-origin')]).toEqual([405, null]);
  });

  it('refuses a PLAYGROUND_PEER that is not https (loopback aside), naming the variable', async () => {
    await expect(
      startTestApp({
        anchors: {},
        clients: demoClients('https://b.example'),
        env: { PLAYGROUND_PEER: 'http://b.example', PORT: String(await freePort()) },
      }),
    ).rejects.toThrow(
      'PLAYGROUND_PEER: must be an https URL without user info or fragment (http only for localhost/127.0.0.1)',
    );
  });
});
