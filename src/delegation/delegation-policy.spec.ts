import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { ClientConfig } from '../clients/client.config.js';
import { InvalidRequest, InvalidScope, InvalidTarget } from '../oauth/oauth-error.js';
import type { ValidatedToken } from '../subject-tokens/validated-token.js';
import type { ActClaim } from './act-chain.js';
import { DelegationPolicy, type DelegationGrant, type DecisionInput } from './delegation-policy.js';
import type { ServerConfig } from '../config/server-config.js';
import { testJwtAnchor } from '../../test/support/anchors.js';
import { exchangeClient } from '../../test/support/client-config.js';
import { expectOAuthError } from '../../test/support/errors.js';

const STS = 'https://sts.example.com';
const IDP_A = 'https://idp-a.example.com';
const IDP_B = 'https://idp-b.example.com';
const API = 'https://api.example.com';
const NOW = 1_800_000_000; // epoch seconds
const SERVER_TTL = 900;
const MAX_DEPTH = 3;

const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';

function config(server: Partial<ServerConfig> = {}): ServerConfig {
  return { issuer: STS, maxChainDepth: MAX_DEPTH, maxTargets: 3, tokenTtl: SERVER_TTL, ...server } as ServerConfig;
}

function client(extra: Partial<ClientConfig> = {}): ClientConfig {
  return exchangeClient({
    client_id: 'web-app',
    audiences: [API, 'billing', 'ledger', 'extra'],
    default_audience: API,
    scopes: ['read', 'write'],
    ...extra,
  });
}

const anchorA = testJwtAnchor({ name: 'idp-a', issuer: IDP_A });
const chainAnchorA = testJwtAnchor({ name: 'idp-a', issuer: IDP_A, trustedForChains: true });
const anchorB = testJwtAnchor({ name: 'idp-b', issuer: IDP_B });
const selfAnchor = testJwtAnchor({ name: 'actbridge', issuer: STS, trustedForChains: true, self: true });

function subject(extra: Partial<ValidatedToken> = {}): ValidatedToken {
  return {
    tokenType: ACCESS_TOKEN,
    principal: { sub: 'alice', iss: IDP_A },
    anchor: anchorA,
    claims: { sub: 'alice', iss: IDP_A, scope: 'read write' },
    scope: ['read', 'write'],
    expiresAt: NOW + 3600,
    act: undefined,
    mayAct: undefined,
    ...extra,
  };
}

function actor(extra: Partial<ValidatedToken> = {}): ValidatedToken {
  const sub = extra.principal?.sub ?? 'agent-1';
  const iss = extra.principal?.iss ?? IDP_A;
  return {
    tokenType: ACCESS_TOKEN,
    principal: { sub, iss },
    anchor: iss === IDP_B ? anchorB : anchorA,
    claims: { sub, iss, client_id: 'agent-client' },
    scope: undefined,
    expiresAt: NOW + 3600,
    act: undefined,
    mayAct: undefined,
    ...extra,
  };
}

/** A chain of `depth` prior actors p1 (outermost) .. p<depth>, each with an iss and ignorable extras. */
function priorChain(depth: number, extras: Record<string, unknown> = {}): Record<string, unknown> {
  let act: Record<string, unknown> | undefined;
  for (let i = depth; i >= 1; i--) {
    act = { sub: `p${i}`, iss: IDP_A, ...extras, ...(act ? { act } : {}) };
  }
  return act!;
}
function priorChainParsed(depth: number): ActClaim {
  let act: ActClaim | undefined;
  for (let i = depth; i >= 1; i--) act = act ? { sub: `p${i}`, iss: IDP_A, act } : { sub: `p${i}`, iss: IDP_A };
  return act!;
}

interface Row {
  name: string;
  server?: Partial<ServerConfig>;
  input: {
    client?: Partial<ClientConfig>;
    subject?: Partial<ValidatedToken>;
    /** Omitted: no actor token. */
    actor?: Partial<ValidatedToken>;
    audiences?: string[];
    resources?: string[];
    scope?: string[];
  };
  expect?: Partial<DelegationGrant>;
  expectError?: { code: string; description: string };
}

const clientActor = { sub: 'web-app', iss: STS };
const agentActor = { sub: 'agent-1', iss: IDP_A };

const rows: Row[] = [
  // Who acts.
  {
    name: 'delegation with an actor token: act = {sub, iss} of the actor',
    input: { actor: {} },
    expect: { mode: 'delegation', act: agentActor, subject: { sub: 'alice', iss: IDP_A } },
  },
  {
    name: 'actor from another issuer keeps its own iss',
    input: { actor: { principal: { sub: 'agent-9', iss: IDP_B } } },
    expect: { mode: 'delegation', act: { sub: 'agent-9', iss: IDP_B } },
  },
  {
    name: 'actor claims other than sub/iss (client_id, email) are not copied into act',
    input: { actor: { claims: { sub: 'agent-1', iss: IDP_A, client_id: 'agent-client', email: 'a@example.com' } } },
    expect: { mode: 'delegation', act: agentActor },
  },
  {
    name: 'no actor token: the client is the actor, in the STS namespace',
    input: {},
    expect: { mode: 'delegation', act: clientActor, subject: { sub: 'alice', iss: IDP_A } },
  },
  {
    name: 'impersonation client, no actor, plain subject: no act',
    input: { client: { impersonation: true } },
    expect: { mode: 'impersonation', act: undefined, subject: { sub: 'alice', iss: IDP_A } },
  },
  {
    name: 'impersonation client with an actor token: delegation',
    input: { client: { impersonation: true }, actor: {} },
    expect: { mode: 'delegation', act: agentActor },
  },
  {
    name: 'impersonation client, subject carries act: delegation, prior chain nested (not laundered)',
    input: { client: { impersonation: true }, subject: { anchor: chainAnchorA, act: { sub: 'p1', iss: IDP_A } } },
    expect: { mode: 'delegation', act: { ...clientActor, act: { sub: 'p1', iss: IDP_A } } },
  },
  {
    name: 'impersonation client, subject carries may_act naming the client: delegation',
    input: { client: { impersonation: true }, subject: { mayAct: { sub: 'web-app', iss: STS } } },
    expect: { mode: 'delegation', act: clientActor },
  },
  {
    name: 'impersonation client, subject may_act naming someone else: refused, not impersonated',
    input: { client: { impersonation: true }, subject: { mayAct: { sub: 'agent-1' } } },
    expectError: {
      code: 'invalid_request',
      description: "the client is not permitted to act by the subject_token's may_act claim (present an actor_token?)",
    },
  },
  {
    name: 'impersonation client, malformed may_act: refused',
    input: { client: { impersonation: true }, subject: { mayAct: null } },
    expectError: { code: 'invalid_request', description: 'subject_token may_act claim is malformed' },
  },

  // may_act.
  {
    name: 'may_act permits the actor token subject',
    input: { subject: { mayAct: { sub: 'agent-1' } }, actor: {} },
    expect: { mode: 'delegation', act: agentActor },
  },
  {
    name: 'may_act permits by client_id of the actor token',
    input: { subject: { mayAct: { client_id: 'agent-client' } }, actor: {} },
    expect: { mode: 'delegation', act: agentActor },
  },
  {
    name: "may_act's client_id is not met by actbridge's token issued to that client (its client_id is not the actor's)",
    input: {
      subject: { mayAct: { client_id: 'agent-client' } },
      actor: {
        anchor: selfAnchor,
        principal: { sub: 'bob', iss: IDP_A },
        claims: { sub: 'bob', iss: STS, client_id: 'agent-client' },
      },
    },
    expectError: {
      code: 'invalid_request',
      description: "the actor_token's subject is not permitted by the subject_token's may_act claim",
    },
  },
  {
    name: "may_act naming an actbridge client is not met by actbridge's token issued to it",
    input: {
      subject: { mayAct: { client_id: 'agent-client', iss: STS } },
      actor: {
        anchor: selfAnchor,
        principal: { sub: 'u:bob', iss: STS },
        claims: { sub: 'u:bob', iss: STS, client_id: 'agent-client' },
      },
    },
    expectError: {
      code: 'invalid_request',
      description: "the actor_token's subject is not permitted by the subject_token's may_act claim",
    },
  },
  {
    name: "may_act's sub and iss are met by actbridge's token about that principal",
    input: {
      subject: { mayAct: { sub: 'bob' } },
      actor: {
        anchor: selfAnchor,
        principal: { sub: 'bob', iss: IDP_A },
        claims: { sub: 'bob', iss: STS, client_id: 'agent-client' },
      },
    },
    expect: { mode: 'delegation', act: { sub: 'bob', iss: IDP_A } },
  },
  {
    name: 'may_act denies the actor token subject',
    input: { subject: { mayAct: { sub: 'agent-2' } }, actor: {} },
    expectError: {
      code: 'invalid_request',
      description: "the actor_token's subject is not permitted by the subject_token's may_act claim",
    },
  },
  {
    name: 'may_act without iss: same sub from another issuer is denied',
    input: { subject: { mayAct: { sub: 'agent-1' } }, actor: { principal: { sub: 'agent-1', iss: IDP_B } } },
    expectError: {
      code: 'invalid_request',
      description: "the actor_token's subject is not permitted by the subject_token's may_act claim",
    },
  },
  {
    name: 'may_act with iss of another issuer permits that issuer’s actor',
    input: {
      subject: { mayAct: { sub: 'agent-1', iss: IDP_B } },
      actor: { principal: { sub: 'agent-1', iss: IDP_B } },
    },
    expect: { mode: 'delegation', act: { sub: 'agent-1', iss: IDP_B } },
  },
  {
    name: 'may_act is enforced against the client when there is no actor token',
    input: { subject: { mayAct: { sub: 'agent-1' } } },
    expectError: {
      code: 'invalid_request',
      description: "the client is not permitted to act by the subject_token's may_act claim (present an actor_token?)",
    },
  },
  {
    name: 'may_act naming the client without iss is read in the subject issuer namespace: denied',
    input: { subject: { mayAct: { sub: 'web-app' } } },
    expectError: {
      code: 'invalid_request',
      description: "the client is not permitted to act by the subject_token's may_act claim (present an actor_token?)",
    },
  },
  {
    name: 'may_act naming the client by client_id in the STS namespace permits the client',
    input: { subject: { mayAct: { client_id: 'web-app', iss: STS } } },
    expect: { mode: 'delegation', act: clientActor },
  },
  {
    name: 'may_act malformed (array)',
    input: { subject: { mayAct: [{ sub: 'agent-1' }] }, actor: {} },
    expectError: { code: 'invalid_request', description: 'subject_token may_act claim is malformed' },
  },
  {
    name: 'may_act malformed ({})',
    input: { subject: { mayAct: {} }, actor: {} },
    expectError: { code: 'invalid_request', description: 'subject_token may_act claim is malformed' },
  },

  // Prior chains.
  {
    name: 'prior act from an anchor not trusted for chains',
    input: { subject: { act: { sub: 'p1' } }, actor: {} },
    expectError: {
      code: 'invalid_request',
      description: 'subject_token carries an act claim, but its issuer is not trusted for delegation chains',
    },
  },
  {
    name: 'prior act from an untrusted anchor is refused even for an impersonation client',
    input: { client: { impersonation: true }, subject: { act: { sub: 'p1' } } },
    expectError: {
      code: 'invalid_request',
      description: 'subject_token carries an act claim, but its issuer is not trusted for delegation chains',
    },
  },
  {
    name: 'prior act nests inside the new act; outermost is the current actor; non-identity members dropped',
    input: { subject: { anchor: chainAnchorA, act: priorChain(2, { exp: 1, aud: 'x', email: 'e' }) }, actor: {} },
    expect: { mode: 'delegation', act: { ...agentActor, act: priorChainParsed(2) } },
  },
  {
    name: 'prior act of an actbridge-issued token nests under the client',
    input: { subject: { anchor: selfAnchor, principal: { sub: 'alice', iss: STS }, act: { sub: 'svc', iss: STS } } },
    expect: { mode: 'delegation', act: { ...clientActor, act: { sub: 'svc', iss: STS } } },
  },
  {
    name: 'a prior actor without iss is named in its token issuer namespace, never in actbridge (RFC 7519 §4.1.2)',
    input: { subject: { anchor: chainAnchorA, act: { sub: 'web-app', act: { sub: 'p2', iss: IDP_B } } } },
    expect: {
      mode: 'delegation',
      act: { ...clientActor, act: { sub: 'web-app', iss: IDP_A, act: { sub: 'p2', iss: IDP_B } } },
    },
  },
  {
    name: 'malformed prior act (no sub)',
    input: { subject: { anchor: chainAnchorA, act: { iss: IDP_A } }, actor: {} },
    expectError: { code: 'invalid_request', description: 'subject_token act claim has an actor without sub' },
  },
  {
    name: 'malformed prior act (array)',
    input: { subject: { anchor: chainAnchorA, act: [{ sub: 'p1' }] }, actor: {} },
    expectError: { code: 'invalid_request', description: 'subject_token act claim is not an object' },
  },
  {
    name: 'malformed prior act (null)',
    input: { subject: { anchor: chainAnchorA, act: null } },
    expectError: { code: 'invalid_request', description: 'subject_token act claim is not an object' },
  },
  {
    name: 'malformed prior act (non-string iss)',
    input: { subject: { anchor: chainAnchorA, act: { sub: 'p1', iss: 3 } } },
    expectError: { code: 'invalid_request', description: 'subject_token act claim has a non-string iss' },
  },
  {
    name: 'actor token carrying act',
    input: { actor: { act: { sub: 'someone' } } },
    expectError: {
      code: 'invalid_request',
      description: 'actor_token must identify the actor itself; it carries an act claim',
    },
  },
  {
    name: 'actor token naming the subject itself (RFC 8693 §1.1: the actor is another party)',
    input: { actor: { principal: { sub: 'alice', iss: IDP_A } } },
    expectError: {
      code: 'invalid_request',
      description:
        'actor_token names the subject itself; the actor must be another party (without an actor_token, the client acts)',
    },
  },
  {
    name: 'actor token naming the subject itself, even for a client allowed to impersonate',
    input: { client: { impersonation: true }, actor: { principal: { sub: 'alice', iss: IDP_A } } },
    expectError: {
      code: 'invalid_request',
      description:
        'actor_token names the subject itself; the actor must be another party (without an actor_token, the client acts)',
    },
  },
  {
    name: 'actor with the subject name at another issuer is another party',
    input: { actor: { principal: { sub: 'alice', iss: IDP_B } } },
    expect: { mode: 'delegation', act: { sub: 'alice', iss: IDP_B } },
  },
  {
    name: 'actor token carrying act, even from an anchor trusted for chains',
    input: { actor: { anchor: chainAnchorA, act: { sub: 'someone' } } },
    expectError: {
      code: 'invalid_request',
      description: 'actor_token must identify the actor itself; it carries an act claim',
    },
  },

  // Depth.
  {
    name: 'prior chain of maxChainDepth - 1: the new chain is exactly at the limit',
    input: { subject: { anchor: chainAnchorA, act: priorChain(MAX_DEPTH - 1) }, actor: {} },
    expect: { mode: 'delegation', act: { ...agentActor, act: priorChainParsed(MAX_DEPTH - 1) } },
  },
  {
    name: 'prior chain of maxChainDepth: one more actor is too deep',
    input: { subject: { anchor: chainAnchorA, act: priorChain(MAX_DEPTH) }, actor: {} },
    expectError: {
      code: 'invalid_request',
      description: `delegation chain too deep: the token would record ${MAX_DEPTH + 1} actors, at most ${MAX_DEPTH} are allowed`,
    },
  },
  {
    name: 'maxChainDepth 1 refuses any prior chain',
    server: { maxChainDepth: 1 },
    input: { subject: { anchor: chainAnchorA, act: { sub: 'p1' } } },
    expectError: {
      code: 'invalid_request',
      description: 'delegation chain too deep: the token would record 2 actors, at most 1 are allowed',
    },
  },
  {
    name: 'prior chain already deeper than maxChainDepth',
    input: { subject: { anchor: chainAnchorA, act: priorChain(MAX_DEPTH + 1) }, actor: {} },
    expectError: {
      code: 'invalid_request',
      description: `subject_token act claim nests more than ${MAX_DEPTH} actors`,
    },
  },

  // Lifetime.
  {
    name: 'lifetime: now + server tokenTtl when both tokens outlive it',
    input: { actor: {} },
    expect: { issuedAt: NOW, expiresAt: NOW + SERVER_TTL },
  },
  {
    name: 'lifetime: bounded by the subject token exp',
    input: { subject: { expiresAt: NOW + 60 }, actor: { expiresAt: NOW + 120 } },
    expect: { issuedAt: NOW, expiresAt: NOW + 60 },
  },
  {
    name: 'lifetime: bounded by the actor token exp',
    input: { subject: { expiresAt: NOW + 120 }, actor: { expiresAt: NOW + 30 } },
    expect: { issuedAt: NOW, expiresAt: NOW + 30 },
  },
  {
    name: 'lifetime: client token_ttl below the server TTL overrides it',
    input: { client: { token_ttl: 60 } },
    expect: { issuedAt: NOW, expiresAt: NOW + 60 },
  },
  {
    name: 'lifetime: client token_ttl above the server TTL overrides it',
    input: { client: { token_ttl: 1800 } },
    expect: { issuedAt: NOW, expiresAt: NOW + 1800 },
  },
  {
    name: 'lifetime: client token_ttl still bounded by the subject exp',
    input: { client: { token_ttl: 1800 }, subject: { expiresAt: NOW + 1000 } },
    expect: { expiresAt: NOW + 1000 },
  },
  {
    name: 'lifetime: one second left is still issued',
    input: { subject: { expiresAt: NOW + 1 } },
    expect: { expiresAt: NOW + 1 },
  },
  {
    name: 'subject token exp == now: expired',
    input: { subject: { expiresAt: NOW } },
    expectError: { code: 'invalid_request', description: 'subject_token has expired' },
  },
  {
    name: 'subject token exp in the past',
    input: { subject: { expiresAt: NOW - 100 }, actor: {} },
    expectError: { code: 'invalid_request', description: 'subject_token has expired' },
  },
  {
    name: 'actor token exp == now: expired',
    input: { actor: { expiresAt: NOW } },
    expectError: { code: 'invalid_request', description: 'actor_token has expired' },
  },
  {
    name: 'both expired: the earlier one is named',
    input: { subject: { expiresAt: NOW - 10 }, actor: { expiresAt: NOW - 5 } },
    expectError: { code: 'invalid_request', description: 'subject_token has expired' },
  },

  // Targets and scope.
  {
    name: 'targets and scope of the request are applied',
    input: { audiences: ['billing'], resources: [API], scope: ['read'], actor: {} },
    expect: { audience: ['billing', API], scope: ['read'] },
  },
  {
    name: 'no target: default_audience; no scope: client ∩ subject',
    input: { subject: { scope: ['write', 'other'] } },
    expect: { audience: [API], scope: ['write'] },
  },
  {
    name: 'identity assertion subject (scope undefined): client scopes',
    input: { subject: { scope: undefined } },
    expect: { scope: ['read', 'write'] },
  },
  {
    name: 'target not allowed',
    input: { audiences: ['payroll'] },
    expectError: { code: 'invalid_target', description: "target not allowed for this client: 'payroll'" },
  },
  {
    name: 'too many targets (server maxTargets)',
    input: { audiences: ['billing', 'ledger', 'extra'], resources: [API] },
    expectError: { code: 'invalid_target', description: 'too many targets requested (4; at most 3)' },
  },
  {
    name: 'no target and no default_audience',
    input: { client: { default_audience: undefined } },
    expectError: {
      code: 'invalid_target',
      description: 'no audience or resource requested, and this client has no default audience',
    },
  },
  {
    name: 'scope beyond the client',
    input: { scope: ['admin'] },
    expectError: { code: 'invalid_scope', description: 'scope not allowed for this client: admin' },
  },
  {
    name: 'scope beyond the subject',
    input: { subject: { scope: ['read'] }, scope: ['write'] },
    expectError: { code: 'invalid_scope', description: "scope exceeds the subject_token's scope: write" },
  },
  {
    name: 'invalid_target is reported before invalid_scope',
    input: { audiences: ['payroll'], scope: ['admin'] },
    expectError: { code: 'invalid_target', description: "target not allowed for this client: 'payroll'" },
  },
  {
    name: 'a delegation refusal is reported before target and scope errors',
    input: { actor: { act: { sub: 'x' } }, audiences: ['payroll'], scope: ['admin'] },
    expectError: {
      code: 'invalid_request',
      description: 'actor_token must identify the actor itself; it carries an act claim',
    },
  },
];

const ERROR_CLASS: Record<string, unknown> = {
  invalid_request: InvalidRequest,
  invalid_target: InvalidTarget,
  invalid_scope: InvalidScope,
};

function buildRequest(input: Row['input']): DecisionInput {
  return {
    client: client(input.client),
    subject: subject(input.subject),
    ...(input.actor ? { actor: actor(input.actor) } : {}),
    request: {
      audiences: input.audiences ?? [],
      resources: input.resources ?? [],
      ...(input.scope ? { scope: input.scope } : {}),
    },
    ceiling: { kind: 'exchange' },
  };
}

describe('DelegationPolicy.decide', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: NOW * 1000 + 400 }); // a fraction of a second in: issuedAt is floored
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it.each(rows)('$name', ({ server, input, expect: expected, expectError }) => {
    const policy = new DelegationPolicy(config(server));
    const call = () => policy.decide(buildRequest(input));
    if (expectError) {
      expectOAuthError(call, expectError, ERROR_CLASS[expectError.code] as new () => unknown);
    } else {
      const grant = call();
      const picked = Object.fromEntries(Object.keys(expected!).map((k) => [k, grant[k as keyof DelegationGrant]]));
      expect(picked).toEqual(expected);
      if ('act' in expected!) expect(grant.act).toStrictEqual(expected.act);
      // Invariants of every grant.
      expect(grant.mode === 'impersonation').toBe(grant.act === undefined);
      expect(grant.expiresAt).toBeGreaterThan(grant.issuedAt);
    }
  });

  it('returns a complete grant for a plain delegation', () => {
    const policy = new DelegationPolicy(config());
    const grant = policy.decide(buildRequest({ actor: {}, audiences: ['billing'], scope: ['write', 'read'] }));
    expect(grant).toStrictEqual({
      subject: { sub: 'alice', iss: IDP_A },
      mode: 'delegation',
      act: agentActor,
      audience: ['billing'],
      scope: ['write', 'read'],
      issuedAt: NOW,
      expiresAt: NOW + SERVER_TTL,
    });
  });

  it('does not modify the presented act claim', () => {
    const presented = priorChain(2, { exp: 1 });
    const snapshot = structuredClone(presented);
    new DelegationPolicy(config()).decide(buildRequest({ subject: { anchor: chainAnchorA, act: presented } }));
    expect(presented).toEqual(snapshot);
  });
});
