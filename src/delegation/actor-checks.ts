import { InvalidRequest } from '../oauth/oauth-error.js';
import type { Principal, ValidatedToken } from '../subject-tokens/validated-token.js';
import { parseActChain, type ActClaim, type ActorIdentity } from './act-chain.js';
import { checkMayAct } from './may-act.js';

/**
 * The checks on who acts that every exchange with an actor applies, token exchange and the vault alike.
 */

/**
 * The subject token's existing chain, believed only when `trusted` (its anchor, or policy rule, trusts
 * chains); an actor it names without `iss` is named in the token issuer's namespace (act-chain.ts).
 */
export function priorChain(subject: ValidatedToken, trusted: boolean, maxChainDepth: number): ActClaim | undefined {
  if (subject.act === undefined) return undefined;
  if (!trusted) {
    throw new InvalidRequest('subject_token carries an act claim, but its issuer is not trusted for delegation chains');
  }
  const parsed = parseActChain(subject.act, maxChainDepth, subject.anchor.issuer);
  if (!parsed.ok) throw new InvalidRequest(`subject_token act claim ${parsed.reason}`);
  return parsed.act;
}

/**
 * RFC 8693 §1.1: delegation is one party acting for another. An actor token naming the subject itself
 * (the subject token presented twice, or another token of the same principal) would record the subject
 * as its own actor, leaving out the party that really acts: a client not allowed to impersonate would
 * obtain what is impersonation in all but name. `issued`: the names a policy rule forms for either in
 * actbridge's namespace (the subject's issued `sub`, the actor's), which are that party too.
 */
export function refuseSubjectAsActor(
  subject: ValidatedToken,
  actor: ValidatedToken,
  issued: { readonly subject?: Principal; readonly actor?: Principal } = {},
): void {
  const subjects = [subject.principal, issued.subject];
  const actors = [actor.principal, issued.actor];
  const same = (a: Principal | undefined, b: Principal | undefined): boolean =>
    a !== undefined && b !== undefined && a.sub === b.sub && a.iss === b.iss;
  if (subjects.some((s) => actors.some((a) => same(s, a)))) {
    throw new InvalidRequest(
      'actor_token names the subject itself; the actor must be another party (without an actor_token, the client acts)',
    );
  }
}

/**
 * The actor token's claims as `may_act` reads them (RFC 8693 §4.4). A token of actbridge's names its
 * subject in the subject's issuer's namespace (`sub_id`), while its other claims (`client_id`: the client
 * it was issued to, not the actor; `aud`, `scope`) are actbridge's statements about the token: only its
 * identity is matched, so that a may_act naming a client_id is never met by a token issued to that client.
 */
export function actorClaims(actor: ValidatedToken): Readonly<Record<string, unknown>> {
  return actor.anchor.self ? { sub: actor.principal.sub, iss: actor.principal.iss } : actor.claims;
}

/** RFC 8693 §4.4: every member of the subject token's may_act (when it has one) must match the actor. */
export function enforceMayAct(subject: ValidatedToken, actor: ActorIdentity, fromActorToken: boolean): void {
  if (subject.mayAct === undefined) return;
  const verdict = checkMayAct(subject.mayAct, actor, subject.anchor.issuer);
  if (verdict === 'malformed') throw new InvalidRequest('subject_token may_act claim is malformed');
  if (verdict === 'denied') {
    throw new InvalidRequest(
      fromActorToken
        ? "the actor_token's subject is not permitted by the subject_token's may_act claim"
        : "the client is not permitted to act by the subject_token's may_act claim (present an actor_token?)",
    );
  }
}
