import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { claimsOf, GRANT_TOKEN_EXCHANGE, postToken, startTestApp, TT, type TestApp } from '../support/test-app.js';
import { basicClient } from '../support/clients.js';
import { createTestIssuer, type TestIssuer } from '../support/test-issuer.js';

/**
 * Trust-anchor rules (CEL) end to end over real HTTP: a CI issuer minting GitHub-Actions-like job
 * tokens; each condition kind failing on its own; a matching job getting exactly the granted
 * sub / audience / scope / lifetime; the exact error codes, statuses and audit lines.
 */

const STS_AUD = 'https://sts.example';
const DEPLOY = 'https://deploy.example';
const OTHER = 'https://other.example';
const SECRET = 'ci-deployer-secret-0123456789';
const WORKFLOW = 'acme/workflows/.github/workflows/deploy.yml@refs/heads/main';

let sts: TestApp;
let ci: TestIssuer; // GitHub-Actions-like, with rules
let legacy: TestIssuer; // no rules: today's behaviour

const CONDITION = [
  'claims.repository_owner_id == "1234"',
  'glob(claims.repository, "acme/*")',
  'claims.ref == "refs/heads/main"',
  'claims.?environment.orValue("") == "production"',
  `claims.job_workflow_ref == "${WORKFLOW}"`,
  'claims.groups.exists(g, g == "deployers")',
  'claims.groups.all(g, !glob(g, "blocked-*"))',
].join('\n  && ');

/** Claims of a job that satisfies every condition. */
const GOOD = {
  sub: 'repo:acme/app:environment:production',
  aud: STS_AUD,
  repository: 'acme/app',
  repository_owner: 'acme',
  repository_owner_id: '1234',
  ref: 'refs/heads/main',
  ref_type: 'branch',
  environment: 'production',
  job_workflow_ref: WORKFLOW,
  groups: ['deployers', 'eng'],
};

const job = (claims: Record<string, unknown> = {}) => ci.mint({ ...GOOD, ...claims }, { typ: 'JWT' });

const exchange = (subject_token: string, extra: Record<string, string | undefined> = {}) =>
  postToken(
    sts,
    { grant_type: GRANT_TOKEN_EXCHANGE, subject_token, subject_token_type: TT.jwt, audience: DEPLOY, ...extra },
    { basic: ['ci-deployer', SECRET] },
  );

type Response = Awaited<ReturnType<typeof postToken>>;

function expectRefused(res: Response, before: number, status: number, error: string, description: string) {
  expect({ status: res.status, body: res.body }).toEqual({ status, body: { error, error_description: description } });
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(sts.audit.lines.length).toBe(before + 1);
  return sts.audit.lines.at(-1)!;
}

beforeAll(async () => {
  ci = await createTestIssuer('https://ci.example', 'RS256');
  legacy = await createTestIssuer('https://legacy.example');
  sts = await startTestApp({
    anchors: {
      ci: {
        issuer: ci.issuer,
        jwks: ci.publicJwks,
        audiences: [STS_AUD],
        algorithms: ['RS256'],
        rules: [
          {
            name: 'deploy',
            condition: CONDITION,
            grants: {
              audiences: [DEPLOY],
              scopes: ['deploy', 'read'],
              max_ttl: 120,
              subject: '"github:" + claims.repository',
            },
          },
        ],
      },
      legacy: { issuer: legacy.issuer, jwks: legacy.publicJwks, audiences: [STS_AUD] },
    },
    clients: [
      basicClient('ci-deployer', SECRET, {
        audiences: [DEPLOY, OTHER],
        scopes: ['deploy', 'read', 'admin'],
        token_ttl: 900,
      }),
    ],
  });
});

afterAll(async () => {
  expect(JSON.stringify(sts.audit.lines)).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
  await sts.close();
});

describe('a job matching the rule', () => {
  it('gets exactly the granted sub, audience, scope and lifetime', async () => {
    const before = sts.audit.lines.length;
    const res = await exchange(await job());
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: 120, scope: 'deploy read' });
    const { payload } = await jwtVerify(
      res.body.access_token as string,
      createRemoteJWKSet(new URL(`${sts.baseUrl}/.well-known/jwks.json`)),
      { issuer: sts.issuer, audience: DEPLOY },
    );
    expect(payload).toMatchObject({
      sub: 'github:acme/app',
      // A formed subject is actbridge's name for it: sub_id says so, truthfully.
      sub_id: { format: 'iss_sub', iss: sts.issuer, sub: 'github:acme/app' },
      aud: DEPLOY,
      scope: 'deploy read',
      client_id: 'ci-deployer',
      act: { sub: 'ci-deployer', iss: sts.issuer },
    });
    expect(payload.exp! - payload.iat!).toBe(120);
    expect(sts.audit.lines.length).toBe(before + 1);
    expect(sts.audit.lines.at(-1)).toMatchObject({
      event: 'token.issued',
      rule: 'ci/deploy',
      subject: { sub: 'repo:acme/app:environment:production', iss: ci.issuer },
      issued_subject: { sub: 'github:acme/app', iss: sts.issuer },
      audience: [DEPLOY],
      scope: 'deploy read',
      ttl: 120,
    });
  });

  it('a requested subset of the granted scope', async () => {
    const res = await exchange(await job(), { scope: 'read' });
    expect(res.status).toBe(200);
    expect(claimsOf(res.body.access_token as string).scope).toBe('read');
  });

  it('the subject token exp bounds the lifetime below max_ttl', async () => {
    const now = Math.floor(Date.now() / 1000);
    const res = await exchange(await job({ exp: now + 60 }));
    expect(res.status).toBe(200);
    expect(res.body.expires_in).toBeLessThanOrEqual(60);
    expect(res.body.expires_in).toBeGreaterThan(50);
  });
});

describe('a job failing one condition gets nothing', () => {
  const NO_MATCH = "subject_token is not granted anything by its trust anchor's policy (no rule matches)";
  it.each([
    ['another owner id, same repository name', { repository_owner_id: '9999' }],
    ['a repository outside the glob', { repository: 'other/app' }],
    ['a repository in a nested path the glob does not cross', { repository: 'acme/app/evil' }],
    ['another ref', { ref: 'refs/heads/dev' }],
    ['another environment', { environment: 'staging' }],
    ['no environment at all', { environment: undefined }],
    [
      'the caller workflow instead of the reusable one',
      { job_workflow_ref: 'acme/app/.github/workflows/x.yml@refs/heads/main' },
    ],
    [
      'the reusable workflow from another branch',
      { job_workflow_ref: WORKFLOW.replace('refs/heads/main', 'refs/heads/dev') },
    ],
    ['groups without the required one (exists)', { groups: ['eng'] }],
    ['a blocked group (all)', { groups: ['deployers', 'blocked-2026'] }],
    ['groups that are not a list', { groups: 'deployers' }],
    ['no groups claim', { groups: undefined }],
  ])('%s → 400 invalid_request', async (_name, claims) => {
    const before = sts.audit.lines.length;
    const res = await exchange(await job(claims));
    const line = expectRefused(res, before, 400, 'invalid_request', NO_MATCH);
    // The operator sees which rule was tried and how it fared; the caller does not.
    expect(line).toMatchObject({ event: 'token.refused', error: 'invalid_request' });
    expect(line.reason).toMatch(/^subject_token anchor ci: no rule matched \(deploy: (not matched|.+)\)$/);
    expect(res.body.error_description).not.toMatch(/deploy|acme|production/);
  });
});

describe('the rule intersected with the client policy', () => {
  it('a target the client may use but the rule does not grant → 400 invalid_target', async () => {
    const before = sts.audit.lines.length;
    const res = await exchange(await job(), { audience: OTHER });
    const line = expectRefused(
      res,
      before,
      400,
      'invalid_target',
      "target not granted to this subject by its trust anchor's policy",
    );
    expect(line.reason).toBe(`rule ci/deploy does not grant "${OTHER}"`);
  });

  it('a target the client may not use → 400 invalid_target (client check)', async () => {
    const before = sts.audit.lines.length;
    const res = await exchange(await job(), { audience: 'https://nowhere.example' });
    expectRefused(res, before, 400, 'invalid_target', "target not allowed for this client: 'https://nowhere.example'");
  });

  it('a scope the client may have but the rule does not grant → 400 invalid_scope', async () => {
    const before = sts.audit.lines.length;
    const res = await exchange(await job(), { scope: 'deploy admin' });
    const line = expectRefused(
      res,
      before,
      400,
      'invalid_scope',
      "scope exceeds what this subject's trust anchor policy grants",
    );
    expect(line.reason).toBe('rule ci/deploy does not grant: admin');
  });

  it('an act chain from an anchor not trusted for chains → 400 invalid_request', async () => {
    const before = sts.audit.lines.length;
    const res = await exchange(await job({ act: { sub: 'someone' } }));
    expectRefused(
      res,
      before,
      400,
      'invalid_request',
      'subject_token carries an act claim, but its issuer is not trusted for delegation chains',
    );
  });
});

describe('an anchor without rules', () => {
  it("keeps today's behaviour: the token's scope ∩ the client's, its own sub and issuer", async () => {
    const token = await legacy.mint({ sub: 'alice', aud: STS_AUD, scope: 'read admin other' });
    const res = await exchange(token, { audience: OTHER });
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('read admin');
    expect(claimsOf(res.body.access_token as string)).toMatchObject({
      sub: 'alice',
      sub_id: { format: 'iss_sub', iss: legacy.issuer, sub: 'alice' },
    });
    expect(sts.audit.lines.at(-1)!.rule).toBeUndefined();
  });
});
