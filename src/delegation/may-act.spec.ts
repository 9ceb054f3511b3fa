import { describe, expect, it } from '@jest/globals';
import type { ActorIdentity } from './act-chain.js';
import { checkMayAct, type MayActVerdict } from './may-act.js';

const IDP_A = 'https://idp-a.example';
const IDP_B = 'https://idp-b.example';

/** The actor as the delegation policy presents it: identity plus the claims of the token it presented. */
function actor(sub: string, iss: string, claims: Record<string, unknown> = {}): ActorIdentity {
  return { sub, iss, claims: { sub, iss, ...claims } };
}

describe('checkMayAct', () => {
  const rows: Array<{
    name: string;
    mayAct: unknown;
    actor: ActorIdentity;
    tokenIssuer?: string;
    expect: MayActVerdict;
  }> = [
    // sub
    {
      name: 'sub matches (issuer implied)',
      mayAct: { sub: 'agent-1' },
      actor: actor('agent-1', IDP_A),
      expect: 'permitted',
    },
    { name: 'sub mismatch', mayAct: { sub: 'agent-1' }, actor: actor('agent-2', IDP_A), expect: 'denied' },
    { name: 'sub differs only by case', mayAct: { sub: 'Agent-1' }, actor: actor('agent-1', IDP_A), expect: 'denied' },
    {
      name: 'sub compared against actor.sub, not a sub in actor.claims',
      mayAct: { sub: 'agent-1' },
      actor: { sub: 'agent-2', iss: IDP_A, claims: { sub: 'agent-1' } },
      expect: 'denied',
    },
    // iss
    {
      name: 'iss given and matching the actor (another issuer than the token)',
      mayAct: { sub: 'agent-1', iss: IDP_B },
      actor: actor('agent-1', IDP_B),
      expect: 'permitted',
    },
    {
      name: 'iss given and equal to the token issuer',
      mayAct: { sub: 'agent-1', iss: IDP_A },
      actor: actor('agent-1', IDP_A),
      expect: 'permitted',
    },
    {
      name: 'iss given, actor from another issuer',
      mayAct: { sub: 'agent-1', iss: IDP_B },
      actor: actor('agent-1', IDP_A),
      expect: 'denied',
    },
    {
      name: 'iss given, compared by exact string (trailing slash differs)',
      mayAct: { sub: 'agent-1', iss: `${IDP_B}/` },
      actor: actor('agent-1', IDP_B),
      expect: 'denied',
    },
    {
      name: 'no iss: same sub vouched for by another issuer is denied',
      mayAct: { sub: 'agent-1' },
      actor: actor('agent-1', IDP_B),
      expect: 'denied',
    },
    {
      name: 'no iss: compared against actor.iss, not an iss in actor.claims',
      mayAct: { sub: 'agent-1' },
      actor: { sub: 'agent-1', iss: IDP_B, claims: { sub: 'agent-1', iss: IDP_A } },
      expect: 'denied',
    },
    // client_id and other members
    {
      name: 'client_id matches actor.claims.client_id',
      mayAct: { client_id: 'svc-client' },
      actor: actor('svc', IDP_A, { client_id: 'svc-client' }),
      expect: 'permitted',
    },
    {
      name: 'client_id differs from actor.claims.client_id',
      mayAct: { client_id: 'svc-client' },
      actor: actor('svc', IDP_A, { client_id: 'other-client' }),
      expect: 'denied',
    },
    {
      name: 'client_id stated but the actor has none',
      mayAct: { client_id: 'svc-client' },
      actor: actor('svc', IDP_A),
      expect: 'denied',
    },
    {
      name: 'client_id is not matched against actor.sub',
      mayAct: { client_id: 'svc' },
      actor: actor('svc', IDP_A),
      expect: 'denied',
    },
    {
      name: 'sub and client_id both match',
      mayAct: { sub: 'svc', client_id: 'svc-client' },
      actor: actor('svc', IDP_A, { client_id: 'svc-client' }),
      expect: 'permitted',
    },
    {
      name: 'sub matches but client_id does not',
      mayAct: { sub: 'svc', client_id: 'svc-client' },
      actor: actor('svc', IDP_A, { client_id: 'x' }),
      expect: 'denied',
    },
    {
      name: 'extra member (email) matches',
      mayAct: { sub: 'svc', email: 'svc@example.com' },
      actor: actor('svc', IDP_A, { email: 'svc@example.com' }),
      expect: 'permitted',
    },
    {
      name: 'extra member (email) differs',
      mayAct: { sub: 'svc', email: 'svc@example.com' },
      actor: actor('svc', IDP_A, { email: 'other@example.com' }),
      expect: 'denied',
    },
    {
      name: 'extra member (email) absent from the actor',
      mayAct: { sub: 'svc', email: 'svc@example.com' },
      actor: actor('svc', IDP_A),
      expect: 'denied',
    },
    {
      name: 'extra member compared by exact value, not type-coerced',
      mayAct: { sub: 'svc', tier: '1' },
      actor: actor('svc', IDP_A, { tier: 1 }),
      expect: 'denied',
    },
    {
      name: 'member named like an Object.prototype property is not satisfied by the prototype',
      mayAct: { sub: 'svc', toString: 'x' },
      actor: actor('svc', IDP_A),
      expect: 'denied',
    },
    {
      name: 'own __proto__ member (as JSON.parse creates it) is not satisfied by the prototype',
      mayAct: JSON.parse('{"sub":"svc","__proto__":"[object Object]"}'),
      actor: actor('svc', IDP_A),
      expect: 'denied',
    },
    // malformed
    { name: 'null', mayAct: null, actor: actor('svc', IDP_A), expect: 'malformed' },
    { name: 'a string', mayAct: 'svc', actor: actor('svc', IDP_A), expect: 'malformed' },
    { name: 'a number', mayAct: 1, actor: actor('svc', IDP_A), expect: 'malformed' },
    { name: 'an array', mayAct: [{ sub: 'svc' }], actor: actor('svc', IDP_A), expect: 'malformed' },
    { name: 'an empty object', mayAct: {}, actor: actor('svc', IDP_A), expect: 'malformed' },
    { name: 'numeric sub', mayAct: { sub: 1 }, actor: actor('1', IDP_A), expect: 'malformed' },
    { name: 'null sub', mayAct: { sub: null }, actor: actor('svc', IDP_A), expect: 'malformed' },
    { name: 'array iss', mayAct: { sub: 'svc', iss: [IDP_A] }, actor: actor('svc', IDP_A), expect: 'malformed' },
    {
      name: 'non-string extra member, even next to a matching sub',
      mayAct: { sub: 'svc', roles: ['admin'] },
      actor: actor('svc', IDP_A, { roles: ['admin'] }),
      expect: 'malformed',
    },
    {
      name: 'nested object member',
      mayAct: { sub: 'svc', act: { sub: 'x' } },
      actor: actor('svc', IDP_A),
      expect: 'malformed',
    },
    {
      name: 'malformed wins over a mismatch',
      mayAct: { sub: 'other', iss: 5 },
      actor: actor('svc', IDP_B),
      expect: 'malformed',
    },
  ];

  it.each(rows)('$name → $expect', ({ mayAct, actor: a, tokenIssuer, expect: expected }) => {
    expect(checkMayAct(mayAct, a, tokenIssuer ?? IDP_A)).toBe(expected);
  });
});
