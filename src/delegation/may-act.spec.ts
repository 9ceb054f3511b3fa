import { describe, expect, it } from '@jest/globals';
import type { ActorIdentity } from './act-chain.js';
import { checkMayAct, type MayActVerdict } from './may-act.js';

const IDP_A = 'https://idp-a.example';
const IDP_B = 'https://idp-b.example';

/** The actor as the delegation policy presents it: identity plus the claims of the token it presented. */
function actor(sub: string, iss: string, claims: Record<string, unknown> = {}): ActorIdentity {
  return { sub, iss, claims: { sub, iss, ...claims } };
}

/** The actor most rows check against: `svc`, vouched for by the subject token's own issuer. */
const svc = (claims: Record<string, unknown> = {}): ActorIdentity => actor('svc', IDP_A, claims);

describe('checkMayAct', () => {
  // Every row's subject token is issued by IDP_A.
  const rows: Array<[name: string, expected: MayActVerdict, mayAct: unknown, actor: ActorIdentity]> = [
    // sub
    ['sub matches (issuer implied)', 'permitted', { sub: 'agent-1' }, actor('agent-1', IDP_A)],
    ['sub mismatch', 'denied', { sub: 'agent-1' }, actor('agent-2', IDP_A)],
    ['sub differs only by case', 'denied', { sub: 'Agent-1' }, actor('agent-1', IDP_A)],
    [
      'sub compared against actor.sub, not a sub in actor.claims',
      'denied',
      { sub: 'agent-1' },
      { sub: 'agent-2', iss: IDP_A, claims: { sub: 'agent-1' } },
    ],
    // iss
    [
      'iss given and matching the actor (another issuer than the token)',
      'permitted',
      { sub: 'agent-1', iss: IDP_B },
      actor('agent-1', IDP_B),
    ],
    ['iss given and equal to the token issuer', 'permitted', { sub: 'agent-1', iss: IDP_A }, actor('agent-1', IDP_A)],
    ['iss given, actor from another issuer', 'denied', { sub: 'agent-1', iss: IDP_B }, actor('agent-1', IDP_A)],
    [
      'iss given, compared by exact string (trailing slash differs)',
      'denied',
      { sub: 'agent-1', iss: `${IDP_B}/` },
      actor('agent-1', IDP_B),
    ],
    ['no iss: same sub vouched for by another issuer is denied', 'denied', { sub: 'agent-1' }, actor('agent-1', IDP_B)],
    [
      'no iss: compared against actor.iss, not an iss in actor.claims',
      'denied',
      { sub: 'agent-1' },
      { sub: 'agent-1', iss: IDP_B, claims: { sub: 'agent-1', iss: IDP_A } },
    ],
    // client_id and other members
    [
      'client_id matches actor.claims.client_id',
      'permitted',
      { client_id: 'svc-client' },
      svc({ client_id: 'svc-client' }),
    ],
    [
      'client_id differs from actor.claims.client_id',
      'denied',
      { client_id: 'svc-client' },
      svc({ client_id: 'other-client' }),
    ],
    ['client_id stated but the actor has none', 'denied', { client_id: 'svc-client' }, svc()],
    ['client_id is not matched against actor.sub', 'denied', { client_id: 'svc' }, svc()],
    [
      'sub and client_id both match',
      'permitted',
      { sub: 'svc', client_id: 'svc-client' },
      svc({ client_id: 'svc-client' }),
    ],
    ['sub matches but client_id does not', 'denied', { sub: 'svc', client_id: 'svc-client' }, svc({ client_id: 'x' })],
    [
      'extra member (email) matches',
      'permitted',
      { sub: 'svc', email: 'svc@example.com' },
      svc({ email: 'svc@example.com' }),
    ],
    [
      'extra member (email) differs',
      'denied',
      { sub: 'svc', email: 'svc@example.com' },
      svc({ email: 'other@example.com' }),
    ],
    ['extra member (email) absent from the actor', 'denied', { sub: 'svc', email: 'svc@example.com' }, svc()],
    ['extra member compared by exact value, not type-coerced', 'denied', { sub: 'svc', tier: '1' }, svc({ tier: 1 })],
    [
      'member named like an Object.prototype property is not satisfied by the prototype',
      'denied',
      { sub: 'svc', toString: 'x' },
      svc(),
    ],
    [
      'own __proto__ member (as JSON.parse creates it) is not satisfied by the prototype',
      'denied',
      JSON.parse('{"sub":"svc","__proto__":"[object Object]"}'),
      svc(),
    ],
    // malformed
    ['null', 'malformed', null, svc()],
    ['a string', 'malformed', 'svc', svc()],
    ['a number', 'malformed', 1, svc()],
    ['an array', 'malformed', [{ sub: 'svc' }], svc()],
    ['an empty object', 'malformed', {}, svc()],
    ['numeric sub', 'malformed', { sub: 1 }, actor('1', IDP_A)],
    ['null sub', 'malformed', { sub: null }, svc()],
    ['array iss', 'malformed', { sub: 'svc', iss: [IDP_A] }, svc()],
    [
      'non-string extra member, even next to a matching sub',
      'malformed',
      { sub: 'svc', roles: ['admin'] },
      svc({ roles: ['admin'] }),
    ],
    ['nested object member', 'malformed', { sub: 'svc', act: { sub: 'x' } }, svc()],
    ['malformed wins over a mismatch', 'malformed', { sub: 'other', iss: 5 }, actor('svc', IDP_B)],
  ];

  it.each(rows)('%s → %s', (_name, expected, mayAct, a) => {
    expect(checkMayAct(mayAct, a, IDP_A)).toBe(expected);
  });
});
