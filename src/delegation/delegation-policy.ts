import { Inject, Injectable } from '@nestjs/common';
import type { ClientConfig } from '../clients/client.config.js';
import { STS_CONFIG, type StsConfig } from '../config/sts-config.js';
import type { ServerConfig } from '../config/server-config.js';
import { InvalidRequest } from '../oauth-errors/oauth-error.js';
import type { Principal, ValidatedToken } from '../subject-tokens/validated-token.js';
import { chainDepth, nestActor, parseActChain, type ActClaim, type ActorIdentity } from './act-chain.js';
import { checkMayAct } from './may-act.js';
import { narrowScope } from './scope-narrowing.js';
import { resolveTargets } from './targets.js';

export interface DelegationRequest {
  readonly client: ClientConfig;
  readonly subject: ValidatedToken;
  readonly actor?: ValidatedToken;
  readonly audiences: readonly string[];
  readonly resources: readonly string[];
  readonly scope?: readonly string[];
}

/** What may be granted: the claims-to-be of the issued token, independent of its encoding. */
export interface DelegationGrant {
  readonly subject: Principal;
  readonly mode: 'delegation' | 'impersonation';
  /** The new `act` chain (undefined under impersonation). */
  readonly act: ActClaim | undefined;
  readonly audience: readonly string[];
  readonly scope: readonly string[];
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/**
 * The delegation core: given validated tokens and a client, decides delegation or impersonation, the
 * actor chain, targets, scope and lifetime, or refuses. It knows nothing about token formats.
 */
@Injectable()
export class DelegationPolicy {
  private readonly server: Pick<ServerConfig, 'issuer' | 'maxChainDepth' | 'maxTargets' | 'tokenTtl'>;

  constructor(@Inject(STS_CONFIG) config: StsConfig) {
    this.server = config.server;
  }

  decide(request: DelegationRequest): DelegationGrant {
    const { client, subject, actor } = request;
    const prior = this.priorChain(subject);
    if (actor && actor.act !== undefined) {
      throw new InvalidRequest('actor_token must identify the actor itself; it carries an act claim');
    }

    // RFC 8693 §1.1: impersonation only when the client's policy allows it and the subject token is not
    // already delegated or delegable (act / may_act): such a token is exchanged by delegation, with the
    // client as actor, so no exchange ever launders a delegated token into a plain one.
    const impersonate = !actor && client.impersonation && prior === undefined && subject.mayAct === undefined;
    let act: ActClaim | undefined;
    if (!impersonate) {
      const current = actor ? actorFromToken(actor) : this.clientAsActor(client);
      if (subject.mayAct !== undefined) this.enforceMayAct(subject, current, actor !== undefined);
      act = nestActor(current, prior);
      const depth = chainDepth(act);
      if (depth > this.server.maxChainDepth) {
        throw new InvalidRequest(
          `delegation chain too deep: the token would record ${depth} actors, at most ${this.server.maxChainDepth} are allowed`,
        );
      }
    }

    const audience = resolveTargets(request.audiences, request.resources, client, this.server.maxTargets);
    const scope = narrowScope(request.scope, subject.scope, client.scopes);

    // Lifetime never grows through an exchange: bounded by the client's TTL and both presented tokens.
    const now = Math.floor(Date.now() / 1000);
    const ttl = client.token_ttl ?? this.server.tokenTtl;
    const expiresAt = Math.min(now + ttl, subject.expiresAt, actor?.expiresAt ?? Infinity);
    if (expiresAt <= now) {
      throw new InvalidRequest(`${expiresAt === actor?.expiresAt ? 'actor_token' : 'subject_token'} has expired`);
    }

    return {
      subject: subject.principal,
      mode: impersonate ? 'impersonation' : 'delegation',
      act,
      audience,
      scope,
      issuedAt: now,
      expiresAt,
    };
  }

  /** The subject token's existing chain, believed only from actbridge or an anchor trusted for chains. */
  private priorChain(subject: ValidatedToken): ActClaim | undefined {
    if (subject.act === undefined) return undefined;
    if (!subject.anchor.trustedForChains) {
      throw new InvalidRequest(
        'subject_token carries an act claim, but its issuer is not trusted for delegation chains',
      );
    }
    const parsed = parseActChain(subject.act, this.server.maxChainDepth);
    if (!parsed.ok) throw new InvalidRequest(`subject_token act claim ${parsed.reason}`);
    return parsed.act;
  }

  private enforceMayAct(subject: ValidatedToken, actor: ActorIdentity, fromActorToken: boolean): void {
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

  /** Without an actor token, the authenticated client is the actor, named in actbridge's namespace. */
  private clientAsActor(client: ClientConfig): ActorIdentity {
    return {
      sub: client.client_id,
      iss: this.server.issuer,
      claims: { sub: client.client_id, iss: this.server.issuer, client_id: client.client_id },
    };
  }
}

function actorFromToken(actor: ValidatedToken): ActorIdentity {
  return {
    sub: actor.principal.sub,
    iss: actor.principal.iss,
    claims: actor.claims,
    ...(actor.anchor.attestation === undefined ? {} : { attestedBy: actor.anchor.attestation }),
  };
}
