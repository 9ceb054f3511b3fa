import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { ClientConfig } from '../clients/client.config.js';
import { InvalidGrant, InvalidRequest, InvalidScope, InvalidTarget, OAuthError } from '../oauth/oauth-error.js';
import { compileAnchorPolicy } from '../policy/anchor-policy.js';
import type { PolicyRuleConfig } from '../policy/policy-rule.config.js';
import type { ValidatedToken } from '../subject-tokens/validated-token.js';
import { DelegationPolicy, type DelegationGrant, type DecisionInput } from './delegation-policy.js';
import type { ServerConfig } from '../config/server-config.js';
import { testJwtAnchor } from '../../test/support/anchors.js';
import { expectOAuthError } from '../../test/support/errors.js';

/** The delegation core with trust-anchor rules: rule grants ∩ client policy ∩ the token's own limits. */

const STS = 'https://sts.example.com';
const CI = 'https://ci.example.com';
const NOW = 1_800_000_000;
const API = 'https://api.example.com';
const DEPLOY = 'https://deploy.example.com';

const RULES: PolicyRuleConfig[] = [
  {
    name: 'deploy-main',
    condition: 'claims.repository_owner_id == "42" && claims.ref == "refs/heads/main"',
    grants: {
      audiences: [DEPLOY, API],
      scopes: ['deploy', 'read'],
      max_ttl: 300,
      subject: '"ci:" + claims.repository',
    },
  },
  {
    name: 'read-any-branch',
    condition: 'claims.repository_owner_id == "42"',
    grants: { audiences: [API], scopes: ['read'], trust_chains: false },
  },
  {
    name: 'broken-subject',
    condition: 'claims.repository_owner_id == "7"',
    grants: { audiences: [API], scopes: ['read'], subject: 'claims.missing' },
  },
  {
    name: 'chains',
    condition: 'claims.repository_owner_id == "99"',
    grants: { audiences: [API], scopes: ['read'], trust_chains: true },
  },
] as PolicyRuleConfig[];

function config(): ServerConfig {
  return { issuer: STS, maxChainDepth: 5, maxTargets: 3, tokenTtl: 900 } as ServerConfig;
}

const ciAnchor = testJwtAnchor({
  name: 'ci',
  issuer: CI,
  trustedForChains: true,
  policy: compileAnchorPolicy('ci.yaml', 'ci', RULES, true),
});

function client(extra: Partial<ClientConfig> = {}): ClientConfig {
  return {
    client_id: 'ci-deployer',
    audiences: [API, DEPLOY, 'https://other.example.com'],
    default_audience: API,
    scopes: ['read', 'deploy', 'admin'],
    impersonation: true,
    ...extra,
  } as ClientConfig;
}

function subject(claims: Record<string, unknown>, extra: Partial<ValidatedToken> = {}): ValidatedToken {
  const all = { sub: 'repo:acme/app:ref:refs/heads/main', iss: CI, repository: 'acme/app', ...claims };
  return {
    tokenType: 'urn:ietf:params:oauth:token-type:jwt',
    principal: { sub: all.sub as string, iss: CI },
    anchor: ciAnchor,
    claims: all,
    scope: undefined,
    expiresAt: NOW + 3600,
    act: undefined,
    mayAct: undefined,
    ...extra,
  };
}

const MAIN = { repository_owner_id: '42', ref: 'refs/heads/main' };
const DEV = { repository_owner_id: '42', ref: 'refs/heads/dev' };

interface Row {
  name: string;
  claims: Record<string, unknown>;
  token?: Partial<ValidatedToken>;
  client?: Partial<ClientConfig>;
  audiences?: string[];
  scope?: string[];
  role?: 'subject' | 'assertion';
  expect?: Partial<DelegationGrant>;
  expectError?: { cls: unknown; code: string; description: string; detail?: string | RegExp };
}

const rows: Row[] = [
  {
    name: 'first matching rule: its subject, its ttl cap, scopes ∩ client',
    claims: MAIN,
    audiences: [DEPLOY],
    expect: {
      subject: { sub: 'ci:acme/app', iss: STS },
      audience: [DEPLOY],
      scope: ['read', 'deploy'],
      expiresAt: NOW + 300,
      rule: 'ci/deploy-main',
      mode: 'impersonation',
    },
  },
  {
    name: 'requested scope within rule and client',
    claims: MAIN,
    audiences: [DEPLOY],
    scope: ['deploy'],
    expect: { scope: ['deploy'] },
  },
  {
    name: 'the client narrows the rule: scopes the client lacks are not granted',
    claims: MAIN,
    client: { scopes: ['read'] },
    expect: { scope: ['read'] },
  },
  {
    name: "the token's own scope narrows the rule",
    claims: MAIN,
    token: { scope: ['read', 'admin'] },
    expect: { scope: ['read'] },
  },
  {
    name: 'the client ttl is below the rule max_ttl',
    claims: MAIN,
    client: { token_ttl: 120 },
    expect: { expiresAt: NOW + 120 },
  },
  {
    name: 'the subject exp is below both',
    claims: MAIN,
    token: { expiresAt: NOW + 60 },
    expect: { expiresAt: NOW + 60 },
  },
  {
    name: 'falls through to the next rule: no subject expression keeps the token sub and issuer',
    claims: DEV,
    expect: {
      subject: { sub: 'repo:acme/app:ref:refs/heads/main', iss: CI },
      audience: [API],
      scope: ['read'],
      expiresAt: NOW + 900,
      rule: 'ci/read-any-branch',
    },
  },
  {
    name: 'no rule matches: invalid_request, the rules tried in the detail',
    claims: { repository_owner_id: '1' },
    expectError: {
      cls: InvalidRequest,
      code: 'invalid_request',
      description: "subject_token is not granted anything by its trust anchor's policy (no rule matches)",
      detail:
        'subject_token anchor ci: no rule matched (deploy-main: not matched; read-any-branch: not matched; broken-subject: not matched; chains: not matched)',
    },
  },
  {
    name: 'no rule matches an assertion: invalid_grant',
    claims: { repository_owner_id: '1' },
    role: 'assertion',
    expectError: {
      cls: InvalidGrant,
      code: 'invalid_grant',
      description: "assertion is not granted anything by its trust anchor's policy (no rule matches)",
    },
  },
  {
    name: 'a condition reading an absent claim does not match',
    claims: { repository_owner_id: '42' },
    expect: { rule: 'ci/read-any-branch' },
  },
  {
    name: 'target outside the rule, though on the client allowlist: invalid_target',
    claims: DEV,
    audiences: [DEPLOY],
    expectError: {
      cls: InvalidTarget,
      code: 'invalid_target',
      description: "target not granted to this subject by its trust anchor's policy",
      detail: `rule ci/read-any-branch does not grant "${DEPLOY}"`,
    },
  },
  {
    name: 'the client default audience outside the rule: invalid_target',
    claims: DEV,
    client: { default_audience: 'https://other.example.com' },
    expectError: {
      cls: InvalidTarget,
      code: 'invalid_target',
      description: "target not granted to this subject by its trust anchor's policy",
    },
  },
  {
    name: 'target outside the client allowlist: the client check comes first',
    claims: MAIN,
    audiences: ['https://nowhere.example.com'],
    expectError: {
      cls: InvalidTarget,
      code: 'invalid_target',
      description: "target not allowed for this client: 'https://nowhere.example.com'",
    },
  },
  {
    name: 'scope the rule does not grant, though the client may: invalid_scope without listing the policy',
    claims: DEV,
    scope: ['deploy'],
    expectError: {
      cls: InvalidScope,
      code: 'invalid_scope',
      description: "scope exceeds what this subject's trust anchor policy grants",
      detail: 'rule ci/read-any-branch does not grant: deploy',
    },
  },
  {
    name: 'scope the client may not have: the client message',
    claims: MAIN,
    client: { scopes: ['read'] },
    scope: ['deploy'],
    expectError: { cls: InvalidScope, code: 'invalid_scope', description: 'scope not allowed for this client: deploy' },
  },
  {
    name: "scope beyond the token's own scope",
    claims: MAIN,
    token: { scope: ['read'] },
    scope: ['deploy'],
    expectError: {
      cls: InvalidScope,
      code: 'invalid_scope',
      description: "scope exceeds the subject_token's scope: deploy",
    },
  },
  {
    name: 'a subject expression failing at run time refuses (fail closed)',
    claims: { repository_owner_id: '7' },
    expectError: {
      cls: InvalidRequest,
      code: 'invalid_request',
      description: "subject_token is refused by its trust anchor's policy: the issued subject could not be formed",
      detail: 'subject_token rule ci/broken-subject: subject: No such key: missing',
    },
  },
  {
    name: 'act chain refused under a rule with trust_chains: false, though the anchor trusts chains',
    claims: DEV,
    token: { act: { sub: 'svc' } },
    client: { impersonation: false },
    expectError: {
      cls: InvalidRequest,
      code: 'invalid_request',
      description: 'subject_token carries an act claim, but its issuer is not trusted for delegation chains',
    },
  },
  {
    name: 'a rule without trust_chains inherits the anchor setting',
    claims: MAIN,
    token: { act: { sub: 'svc' } },
    expect: { rule: 'ci/deploy-main', mode: 'delegation' },
  },
  {
    name: 'act chain believed under a rule with trust_chains',
    claims: { repository_owner_id: '99' },
    token: { act: { sub: 'svc' } },
    expect: { act: { sub: 'ci-deployer', iss: STS, act: { sub: 'svc', iss: CI } }, mode: 'delegation' },
  },
];

describe('DelegationPolicy.decide with trust-anchor rules', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: NOW * 1000 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it.each(rows)('$name', (row) => {
    const policy = new DelegationPolicy(config());
    const request: DecisionInput = {
      client: client(row.client),
      subject: subject(row.claims, row.token),
      request: { audiences: row.audiences ?? [], resources: [], ...(row.scope ? { scope: row.scope } : {}) },
      // An assertion grant: refusals of the subject are invalid_grant.
      ceiling: { kind: row.role === 'assertion' ? 'assertion' : 'exchange' },
    };
    if (row.expectError) {
      const error = expectOAuthError(
        () => policy.decide(request),
        { code: row.expectError.code, description: row.expectError.description },
        row.expectError.cls as new () => OAuthError,
      );
      if (row.expectError.detail) expect(error.detail).toEqual(row.expectError.detail);
    } else {
      const grant = policy.decide(request);
      const picked = Object.fromEntries(Object.keys(row.expect!).map((k) => [k, grant[k as keyof DelegationGrant]]));
      expect(picked).toEqual(row.expect);
      expect(grant.issuedAt).toBe(NOW);
    }
  });

  describe('RFC 8693 §1.1: the actor is another party than the subject under the names rules form too', () => {
    const selfAnchor = testJwtAnchor({ name: 'actbridge', issuer: STS, trustedForChains: true, self: true });
    // A token of actbridge's about the formed subject, without act (from an impersonation client).
    const formedToken = (sub: string): ValidatedToken =>
      subject({}, { anchor: selfAnchor, principal: { sub, iss: STS }, claims: { sub, iss: STS }, scope: ['read'] });
    const decide = (subjectToken: ValidatedToken, actorToken: ValidatedToken) =>
      new DelegationPolicy(config()).decide({
        client: client(),
        subject: subjectToken,
        actor: actorToken,
        request: { audiences: [API], resources: [] },
        ceiling: { kind: 'exchange' },
      });
    const refusal = {
      code: 'invalid_request',
      description:
        'actor_token names the subject itself; the actor must be another party (without an actor_token, the client acts)',
    };

    it('refuses as actor a token about the sub the rule forms for the subject', () => {
      expectOAuthError(() => decide(subject(MAIN), formedToken('ci:acme/app')), refusal, InvalidRequest);
    });

    it('refuses as actor a token whose rule forms the subject of a token of actbridge', () => {
      expectOAuthError(() => decide(formedToken('ci:acme/app'), subject(MAIN)), refusal, InvalidRequest);
    });

    it('accepts an actor formed under another name', () => {
      const other = subject({ ...MAIN, repository: 'acme/bot' }, { principal: { sub: 'repo:acme/bot', iss: CI } });
      expect(decide(subject(MAIN), other).act).toEqual({ sub: 'repo:acme/bot', iss: CI });
      expect(decide(formedToken('ci:acme/app'), other).act).toEqual({ sub: 'repo:acme/bot', iss: CI });
    });
  });

  it("refuses a formed sub that is a registered client's id (RFC 9068 §2.2: that sub names the client)", () => {
    const clients = { find: (id: string) => (id === 'ci:acme/app' ? client({ client_id: id }) : undefined) };
    const decide = (repository: string) =>
      new DelegationPolicy(config(), clients).decide({
        client: client(),
        subject: subject({ ...MAIN, repository }),
        request: { audiences: [DEPLOY], resources: [] },
        ceiling: { kind: 'exchange' },
      });
    const error = expectOAuthError(
      () => decide('acme/app'),
      {
        code: 'invalid_request',
        description: "subject_token is refused by its trust anchor's policy: the issued subject could not be formed",
      },
      InvalidRequest,
    );
    expect(error.detail).toBe(
      'subject_token rule ci/deploy-main: subject "ci:acme/app" is the client_id of a registered client',
    );
    expect(decide('acme/web').subject).toEqual({ sub: 'ci:acme/web', iss: STS });
  });

  it('anchors without rules, and actbridge itself, keep the scope ∩ client behaviour', () => {
    const policy = new DelegationPolicy(config());
    for (const anchor of [
      testJwtAnchor({ name: 'other', issuer: 'https://other.example' }),
      testJwtAnchor({ name: 'ci', issuer: STS, trustedForChains: true, self: true }),
    ]) {
      const grant = policy.decide({
        client: client(),
        subject: subject({ repository_owner_id: '1' }, { anchor, scope: ['read', 'admin', 'x'] }),
        request: { audiences: [], resources: [] },
        ceiling: { kind: 'exchange' },
      });
      expect(grant.scope).toEqual(['read', 'admin']);
      expect(grant.rule).toBeUndefined();
      expect('rule' in grant).toBe(false);
    }
  });
});
