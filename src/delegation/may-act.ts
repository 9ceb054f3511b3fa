import type { ActorIdentity } from './act-chain.js';

export type MayActVerdict = 'permitted' | 'denied' | 'malformed';

/**
 * RFC 8693 §4.4: `may_act` names the party allowed to become the actor for the token's subject.
 * Every member it states must match the actor: `sub`, `iss` and any other claim (e.g. `client_id`)
 * compared by exact value. A `may_act` without `iss` is read in the namespace of the issuer of the
 * token that carries it, so `{"sub": "agent-1"}` from IdP A is never satisfied by an "agent-1"
 * vouched for by IdP B.
 */
export function checkMayAct(mayAct: unknown, actor: ActorIdentity, tokenIssuer: string): MayActVerdict {
  if (typeof mayAct !== 'object' || mayAct === null || Array.isArray(mayAct)) return 'malformed';
  const entries = Object.entries(mayAct as Record<string, unknown>);
  if (entries.length === 0) return 'malformed';
  if (entries.some(([, value]) => typeof value !== 'string')) return 'malformed';
  const expectedIssuer = (mayAct as { iss?: string }).iss ?? tokenIssuer;
  if (actor.iss !== expectedIssuer) return 'denied';
  for (const [name, value] of entries) {
    if (name === 'iss') continue;
    const actual = name === 'sub' ? actor.sub : actor.claims[name];
    if (actual !== value) return 'denied';
  }
  return 'permitted';
}
