import type { ClientConfig } from '../clients/client.config.js';
import { actorsOutermostFirst, type ActClaim, type ActorIdentity } from '../delegation/act-chain.js';
import { actorClaims, enforceMayAct, priorChain, refuseSubjectAsActor } from '../delegation/actor-checks.js';
import { InvalidRequest } from '../oauth/oauth-error.js';
import type { ViewActor } from '../policy/subject-view.js';
import type { ValidatedToken } from '../subject-tokens/validated-token.js';

export interface VaultCaller {
  /** Who asks for the user's token, current actor first: the actor token's subject, then the subject token's chain. */
  readonly actors: ReadonlyArray<{ sub: string; iss?: string; attested_by?: string }>;
  /** The same, as policy expressions see them (`actors`). */
  readonly view: readonly ViewActor[];
}

/**
 * The actors a vault exchange is asked by, with the checks delegation applies to them: a presented
 * chain is believed only from an anchor trusted for chains, an actor token names the actor itself,
 * `may_act` is honoured (RFC 8693 §4.4) and the chain is no deeper than MAX_CHAIN_DEPTH.
 */
export function vaultCaller(
  subject: ValidatedToken,
  actor: ValidatedToken | undefined,
  client: ClientConfig,
  server: { issuer: string; maxChainDepth: number },
): VaultCaller {
  const prior = priorChain(subject, subject.anchor.trustedForChains, server.maxChainDepth);
  if (actor && actor.act !== undefined) {
    throw new InvalidRequest('actor_token must identify the actor itself; it carries an act claim');
  }
  // RFC 8693 §1.1: the actor is another party than the subject.
  if (actor) refuseSubjectAsActor(subject, actor);
  // Without an actor token the client itself is who acts for the user (as in a delegation).
  const current: ActorIdentity = actor
    ? { sub: actor.principal.sub, iss: actor.principal.iss, claims: actorClaims(actor) }
    : { sub: client.client_id, iss: server.issuer, claims: { client_id: client.client_id } };
  enforceMayAct(subject, current, actor !== undefined);
  const chain: ActClaim | undefined = actor
    ? {
        sub: actor.principal.sub,
        iss: actor.principal.iss,
        ...(actor.anchor.attestation === undefined ? {} : { attested_by: actor.anchor.attestation }),
        ...(prior ? { act: prior } : {}),
      }
    : prior;
  const actors = actorsOutermostFirst(chain);
  if (actors.length > server.maxChainDepth) {
    throw new InvalidRequest(
      `delegation chain too deep: ${actors.length} actors, at most ${server.maxChainDepth} are allowed`,
    );
  }
  const view: ViewActor[] = [];
  for (let level = chain; level; level = level.act) {
    view.push({
      sub: level.sub,
      ...(level.iss === undefined ? {} : { iss: level.iss }),
      ...(level.client_id === undefined ? {} : { client_id: level.client_id }),
    });
  }
  return { actors, view };
}
