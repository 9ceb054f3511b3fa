import { Inject, Injectable } from '@nestjs/common';
import type { ClientConfig } from '../clients/client.config.js';
import { STS_CONFIG, type StsConfig } from '../config/sts-config.js';
import type { ServerConfig } from '../config/server-config.js';
import { InvalidGrant, InvalidRequest, InvalidScope, InvalidTarget } from '../oauth/oauth-error.js';
import { AnchorPolicy, type CompiledRule, type PolicyEvaluation } from '../policy/anchor-policy.js';
import { buildSubjectView } from './subject-view.js';
import { tokenRejected, type TokenRole } from '../oauth/token-rejection.js';
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
  /** How the subject was presented (default `subject`): a policy refusal of an assertion is invalid_grant. */
  readonly subjectRole?: TokenRole;
}

/** What may be granted: the claims-to-be of the issued token, independent of its encoding. */
export interface DelegationGrant {
  readonly subject: Principal;
  readonly mode: 'delegation' | 'impersonation' | 'assertion';
  /** The new `act` chain (undefined under impersonation). */
  readonly act: ActClaim | undefined;
  readonly audience: readonly string[];
  readonly scope: readonly string[];
  readonly issuedAt: number;
  readonly expiresAt: number;
  /** The anchor policy rule that granted this (`<anchor>/<rule>`); absent for anchors without rules. */
  readonly rule?: string;
}

/** What the subject's trust-anchor policy grants: the matched rule and the `sub` it forms. */
export interface PolicyGrant {
  readonly rule: CompiledRule;
  readonly label: string;
  /** The issued principal: the formed `sub` in actbridge's namespace, or the token's own. */
  readonly subject: Principal;
}

/**
 * The delegation core: given validated tokens and a client, decides delegation or impersonation, the
 * actor chain, targets, scope and lifetime, or refuses. It knows nothing about token formats.
 */
@Injectable()
export class DelegationPolicy {
  private readonly server: Pick<ServerConfig, 'issuer' | 'maxChainDepth' | 'maxTargets' | 'tokenTtl'>;
  /** Compiled `rules:` by anchor name, for anchors that have them. */
  private readonly policies: ReadonlyMap<string, AnchorPolicy>;

  constructor(@Inject(STS_CONFIG) config: StsConfig) {
    this.server = config.server;
    this.policies = new Map(config.anchors.flatMap((a) => (a.policy ? [[a.name, a.policy] as const] : [])));
  }

  /**
   * The subject's trust-anchor policy, evaluated: undefined when its anchor has no `rules:` (actbridge's
   * own tokens never have any). `all` evaluates every rule, for explain.
   */
  evaluatePolicy(subject: ValidatedToken, clientId: string, all = false): PolicyEvaluation | undefined {
    if (subject.anchor.self) return undefined;
    return this.policies.get(subject.anchor.name)?.evaluate(buildSubjectView(subject, clientId), all);
  }

  decide(request: DelegationRequest): DelegationGrant {
    const { client, subject, actor } = request;
    const policy = this.applyPolicy(subject, client.client_id, request.subjectRole ?? 'subject');
    const prior = this.priorChain(subject, policy?.rule.trustChains ?? subject.anchor.trustedForChains);
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

    const { audience, scope, issuedAt, expiresAt } = this.bounds(request, policy);
    if (expiresAt <= issuedAt) {
      throw new InvalidRequest(`${expiresAt === actor?.expiresAt ? 'actor_token' : 'subject_token'} has expired`);
    }

    return {
      subject: policy?.subject ?? subject.principal,
      mode: impersonate ? 'impersonation' : 'delegation',
      act,
      audience,
      scope,
      issuedAt,
      expiresAt,
      ...(policy ? { rule: policy.label } : {}),
    };
  }

  /**
   * An RFC 7521 §4.1 assertion grant (RFC 7522 saml2-bearer): the client gets a token about the
   * assertion's subject, without `act` (the client is named by `client_id`). The anchor's rules,
   * targets, scope and lifetime apply as to an exchange; refusals of the assertion are invalid_grant.
   */
  decideAssertionGrant(request: Omit<DelegationRequest, 'actor' | 'subjectRole'>): DelegationGrant {
    const { subject, client } = request;
    // A delegated or delegable token must go through token exchange, where its chain or may_act is
    // checked and kept; a plain grant would launder it into a token without `act`.
    if (subject.act !== undefined || subject.mayAct !== undefined) {
      throw new InvalidGrant('assertion carries act or may_act; present it through token exchange instead');
    }
    const policy = this.applyPolicy(subject, client.client_id, 'assertion');
    const { audience, scope, issuedAt, expiresAt } = this.bounds(request, policy);
    if (expiresAt <= issuedAt) throw new InvalidGrant('assertion has expired');
    return {
      subject: policy?.subject ?? subject.principal,
      mode: 'assertion',
      act: undefined,
      audience,
      scope,
      issuedAt,
      expiresAt,
      ...(policy ? { rule: policy.label } : {}),
    };
  }

  /**
   * Targets, scope and lifetime: what every issued token is bounded by, whatever the grant. Lifetime
   * never grows through an exchange: bounded by the client's TTL, the policy rule's max_ttl and every
   * presented token.
   */
  private bounds(
    request: Omit<DelegationRequest, 'subjectRole'>,
    policy: PolicyGrant | undefined,
  ): Pick<DelegationGrant, 'audience' | 'scope' | 'issuedAt' | 'expiresAt'> {
    const { client, subject, actor } = request;
    const audience = resolveTargets(request.audiences, request.resources, client, this.server.maxTargets);
    if (policy) this.enforcePolicyTargets(audience, policy);
    const scope = this.narrowScope(request.scope, subject, client, policy);
    const now = Math.floor(Date.now() / 1000);
    const ttl = Math.min(client.token_ttl ?? this.server.tokenTtl, policy?.rule.maxTtl ?? Infinity);
    const expiresAt = Math.min(now + ttl, subject.expiresAt, actor?.expiresAt ?? Infinity);
    return { audience, scope, issuedAt: now, expiresAt };
  }

  /**
   * Also used by grants other than token exchange (ID-JAG issuance), so that every way a subject's
   * token can be turned into another token passes through its anchor's rules.
   * Anchors with `rules:`: the first matching rule grants, and a subject matching none gets nothing.
   * Refusals name the step, never the policy's contents; the internal detail (audit `reason`) names the
   * anchor and rule.
   */
  applyPolicy(subject: ValidatedToken, clientId: string, role: TokenRole): PolicyGrant | undefined {
    const evaluation = this.evaluatePolicy(subject, clientId);
    if (!evaluation) return undefined;
    const anchor = subject.anchor.name;
    const rule = evaluation.matched;
    if (!rule) {
      const tried = evaluation.trace.map((t) => `${t.rule}: ${t.error ?? t.result}`).join('; ');
      throw tokenRejected(
        role,
        "is not granted anything by its trust anchor's policy (no rule matches)",
        `anchor ${anchor}: no rule matched${tried ? ` (${tried})` : ' (no rules)'}`,
      );
    }
    const label = `${anchor}/${rule.name}`;
    const formed = AnchorPolicy.formSubject(rule, buildSubjectView(subject, clientId));
    if (!formed.ok) {
      throw tokenRejected(
        role,
        "is refused by its trust anchor's policy: the issued subject could not be formed",
        `rule ${label}: subject: ${formed.error}`,
      );
    }
    // A formed `sub` is actbridge's name for the subject, not the issuer's: sub_id (iss_sub) says so.
    const issued = rule.subject ? { sub: formed.value, iss: this.server.issuer } : subject.principal;
    return { rule, label, subject: issued };
  }

  /** RFC 8707 / RFC 8693 §2.2.2: a target the policy does not grant is invalid_target. */
  enforcePolicyTargets(audience: readonly string[], policy: PolicyGrant): void {
    const refused = audience.filter((target) => !policy.rule.audiences.includes(target));
    if (refused.length > 0) {
      throw new InvalidTarget("target not granted to this subject by its trust anchor's policy", {
        detail: `rule ${policy.label} does not grant ${refused.map((t) => JSON.stringify(t.slice(0, 200))).join(', ')}`,
      });
    }
  }

  /** The client's scopes ∩ the token's own scope (when it has one) ∩ the policy rule's scopes. */
  private narrowScope(
    requested: readonly string[] | undefined,
    subject: ValidatedToken,
    client: ClientConfig,
    policy: PolicyGrant | undefined,
  ): string[] {
    if (!policy) return narrowScope(requested, subject.scope, client.scopes);
    const granted = policy.rule.scopes;
    if (requested !== undefined) {
      // The client's own limit is checked first, with its usual message; then the policy's, without
      // listing what the policy grants.
      narrowScope(requested, undefined, client.scopes);
      const notGranted = [...new Set(requested)].filter((s) => !granted.includes(s));
      if (notGranted.length > 0) {
        throw new InvalidScope("scope exceeds what this subject's trust anchor policy grants", {
          detail: `rule ${policy.label} does not grant: ${notGranted.join(' ')}`,
        });
      }
    }
    return narrowScope(
      requested,
      subject.scope === undefined ? granted : granted.filter((s) => subject.scope!.includes(s)),
      client.scopes,
    );
  }

  /** The subject token's existing chain, believed only when its anchor (or policy rule) trusts chains. */
  private priorChain(subject: ValidatedToken, trusted: boolean): ActClaim | undefined {
    if (subject.act === undefined) return undefined;
    if (!trusted) {
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
