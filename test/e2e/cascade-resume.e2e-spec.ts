import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
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
import { LINEAGE_STORE, type LineageStore } from '../../src/stores/lineage-store.js';

const describeRedis = await describeWithRedis();

/**
 * A cascade revocation the store cut short (503, the start already revoked) is completed by the server
 * itself (CascadeResumer, every CASCADE_RESUME_INTERVAL): no client retry, the revocation list names
 * every descendant, and each descendant reached has its own audit line.
 */

const STS_AUD = 'urn:actbridge:test';
const SECRET = 'client-secret-0123456789';
const agent = (id: string, audiences: string[]) => ({
  client_id: id,
  token_endpoint_auth_method: 'client_secret_basic',
  client_secret: SECRET,
  audiences,
  scopes: ['read'],
});

let idp: TestIssuer;
let app: TestApp;

const post = (path: string, form: Record<string, string>, clientId: string) =>
  postForm(app, path, form, [clientId, SECRET]);

/** user token → A (orchestrator) → B (sub-agent) → C (tool). */
async function chain(): Promise<{ a: string; b: string; c: string }> {
  const tokens = [await idp.mint({ sub: `alice-${randomUUID()}`, aud: STS_AUD, scope: 'read', jti: randomUUID() })];
  for (const [clientId, audience] of [
    ['orchestrator', 'sub-agent'],
    ['sub-agent', 'tool'],
    ['tool', 'worker'],
  ] as const) {
    const res = await postToken(
      app,
      {
        grant_type: GRANT_TOKEN_EXCHANGE,
        subject_token: tokens.at(-1)!,
        subject_token_type: TT.accessToken,
        audience,
      },
      { basic: [clientId, SECRET] },
    );
    expect(res.status).toBe(200);
    tokens.push(res.body.access_token as string);
  }
  const [, a, b, c] = tokens as [string, string, string, string];
  return { a, b, c };
}
const jti = (token: string) => claimsOf(token).jti as string;
const listed = async () =>
  (claimsOf(await (await fetch(`${app.baseUrl}/oauth/revocations`)).text()).revoked as Array<{ jti: string }>).map(
    (entry) => entry.jti,
  );

beforeAll(async () => {
  idp = await createTestIssuer('https://idp.example');
  app = await startTestApp({
    anchors: { idp: { issuer: idp.issuer, jwks: idp.publicJwks, audiences: [STS_AUD] } },
    clients: [agent('orchestrator', ['sub-agent']), agent('sub-agent', ['tool']), agent('tool', ['worker'])],
    env: { REDIS_URL: REDIS_TEST_URL, REDIS_TIMEOUT_MS: '10000', CASCADE_RESUME_INTERVAL: '1' },
  });
});

afterAll(async () => {
  await app?.close();
});

describeRedis('a cascade cut short by the store', () => {
  it('is completed by the server without a retry: every descendant listed, each with its audit line', async () => {
    const { a, b, c } = await chain();
    const lineage = app.app.get<LineageStore>(LINEAGE_STORE);
    const children = lineage.children;
    // The store fails once, after A is flagged and before its children are read.
    lineage.children = () => {
      lineage.children = children;
      return Promise.reject(new Error('Command timed out'));
    };
    const cut = await post('/oauth/revoke', { token: a }, 'orchestrator');
    expect(cut).toEqual({
      status: 503,
      json: {
        error: 'temporarily_unavailable',
        error_description: 'cannot check token revocation right now; retry later',
      },
    });
    expect(await listed()).not.toContain(jti(b));

    // Nobody retries: within a few intervals the server has walked the tree itself.
    const deadline = Date.now() + 8000;
    while (Date.now() < deadline && !(await listed()).includes(jti(c))) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(await listed()).toEqual(expect.arrayContaining([jti(a), jti(b), jti(c)]));
    const resumed = app.audit.lines.filter((line) => line.event === 'token.revoked' && line.revoked_by === 'cascade');
    expect(resumed).toEqual([
      expect.objectContaining({ outcome: 'revoked', jti: jti(b), through: jti(a), exp: claimsOf(b).exp }),
      expect.objectContaining({ outcome: 'revoked', jti: jti(c), through: jti(a), exp: claimsOf(c).exp }),
    ]);

    // Nothing is left pending: a retry now revokes nothing (200, ignored), and no further line appears.
    expect((await post('/oauth/revoke', { token: a }, 'orchestrator')).status).toBe(200);
    expect(app.audit.lines.at(-1)).toMatchObject({ event: 'token.revocation_ignored', client_id: 'orchestrator' });
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(app.audit.lines.filter((line) => line.revoked_by === 'cascade')).toHaveLength(2);
  });
});
