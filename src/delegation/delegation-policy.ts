import { Inject, Injectable, Optional } from '@nestjs/common';
import { inSpanSync } from '../observability/tracing.js';
import { recordSubject, type AuditRecord } from '../audit/audit-record.js';
import type { ClientConfig } from '../clients/client.config.js';
import { ClientRegistry } from '../clients/client-registry.js';
import { clock } from '../common/clock.js';
import { SERVER_CONFIG, type ServerConfig } from '../config/server-config.js';
import { InvalidGrant, InvalidRequest, InvalidTarget, type OAuthError } from '../oauth/oauth-error.js';
import { tokenParameter, tokenRejected, type TokenRole } from '../oauth/token-rejection.js';
import { quoted } from '../oauth/error-description.js';
import { TokenTypes } from '../oauth/token-types.js';
import { AnchorPolicy, type CompiledRule, type PolicyEvaluation } from '../policy/anchor-policy.js';
import type { Principal, ValidatedToken } from '../subject-tokens/validated-token.js';
import { actorsOutermostFirst, chainDepth, nestActor, type ActClaim, type ActorIdentity } from './act-chain.js';
import { actorClaims, enforceMayAct, priorChain, refuseSubjectAsActor } from './actor-checks.js';
import { narrowScope, type ScopeLimit } from '../oauth/scope.js';
import { scopeLimits } from './scope-limits.js';
import { buildSubjectView } from './subject-view.js';
import { resolveTargets, targetsWithin } from './targets.js';

/** What the client asked for. */
export interface DecisionRequest {
  readonly audiences: readonly string[];
  readonly resources: readonly string[];
  readonly scope?: readonly string[];
}

/**
 * What a grant type allows at most, beyond the client, the anchor's policy and the presented tokens:
 *  - `exchange` (RFC 8693): delegation or impersonation, an `act` chain; a refused subject token is
 *    invalid_request (§2.2.2);
 *  - `assertion` (RFC 7521 §4.1 grants: saml2-bearer, jwt-bearer, ID-JAG redemption): a token about
 *    the assertion's subject for the client, without `act`; a refused assertion is invalid_grant;
 *  - `id-jag` (ID-JAG issuance, §4.3): the subject's identity carried to one resource AS, without
 *    `act`; scope bounded by the client's XAA target instead of its `scopes`.
 */
export interface GrantCeiling {
  readonly kind: 'exchange' | 'assertion' | 'id-jag';
  /** The grant's lifetime before the rule and presented tokens shorten it (default: the client's token TTL). */
  readonly ttl?: number;
  /** The grant's own scope limit: an assertion's scopes, or an ID-JAG target's (instead of the client's). */
  readonly scope?: ScopeLimit;
  /**
   * The grant's own targets, replacing the client's RFC 8693/8707 allowlist rule: a presented
   * assertion's resources (`within`, ID-JAG §4.4.2), or a decided set (an ID-JAG's one resource AS).
   */
  readonly targets?: { readonly within: readonly string[] } | { readonly decided: readonly string[] };
}

export interface DecisionInput {
  readonly client: ClientConfig;
  readonly subject: ValidatedToken;
  /** RFC 8693 actor token (exchange only). */
  readonly actor?: ValidatedToken;
  readonly request: DecisionRequest;
  readonly ceiling: GrantCeiling;
}

/** What may be granted: the claims-to-be of the issued token, independent of its encoding. */
export interface DelegationGrant {
  readonly subject: Principal;
  /** Absent for an ID-JAG (an identity carried across domains, neither delegated nor an assertion grant). */
  readonly mode?: 'delegation' | 'impersonation' | 'assertion';
  /** The new `act` chain (undefined under impersonation and for assertion grants). */
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
 * The delegation core: every grant (token exchange, saml2-bearer, jwt-bearer, ID-JAG issuance and
 * redemption) and the policy tools decide here, from validated tokens, the client, the request and the
 * grant's ceiling: the anchor's rules, the actor chain, targets, scope and lifetime, or a refusal. It
 * knows nothing about token formats or encodings.
 */
@Injectable()
export class DelegationPolicy {
  constructor(
    @Inject(SERVER_CONFIG)
    private readonly server: Pick<ServerConfig, 'issuer' | 'maxChainDepth' | 'maxTargets' | 'tokenTtl'>,
    /** The registered clients, whose ids a formed `sub` must not take (absent: none are known). */
    @Optional() @Inject(ClientRegistry) private readonly clients?: Pick<ClientRegistry, 'find'>,
  ) {}

  /**
   * The subject's trust-anchor policy, evaluated: undefined when its anchor has no `rules:` (actbridge's
   * own tokens never have any). `all` evaluates every rule, for explain.
   */
  evaluatePolicy(subject: ValidatedToken, clientId: string, all = false): PolicyEvaluation | undefined {
    return subject.anchor.policy?.evaluate(buildSubjectView(subject, clientId), all);
  }

  /** Decides, or throws the OAuth error of the first failed step; fills the decision into `audit`. */
  decide(input: DecisionInput, audit?: AuditRecord): DelegationGrant {
    return inSpanSync('policy', 'policy', () => this.decideNow(input, audit));
  }

  private decideNow(input: DecisionInput, audit?: AuditRecord): DelegationGrant {
    const { client, subject, actor, ceiling } = input;
    const role: TokenRole = ceiling.kind === 'assertion' ? 'assertion' : 'subject';
    const policy = this.applyPolicy(subject, client.client_id, role);
    if (audit && policy) audit.rule = policy.label;
    const act = ceiling.kind === 'exchange' ? this.actChain(input, policy) : this.noChain(subject, actor, role);

    const audience = this.targets(input);
    if (policy) enforcePolicyTargets(audience, policy);
    enforceProxyAudiences(audience, subject, role);
    if (actor) enforceProxyAudiences(audience, actor, 'actor');
    const scope = narrowScope(input.request.scope, scopeLimits(input, policy));

    // Lifetime never grows: the grant's, the rule's, and no later than any presented token's exp.
    const issuedAt = clock.seconds();
    const ttl = Math.min(ceiling.ttl ?? client.token_ttl ?? this.server.tokenTtl, policy?.rule.maxTtl ?? Infinity);
    const expiresAt = Math.min(issuedAt + ttl, subject.expiresAt, actor?.expiresAt ?? Infinity);
    if (expiresAt <= issuedAt) throw expired(role, expiresAt === actor?.expiresAt);

    const grant: DelegationGrant = {
      subject: policy?.subject ?? subject.principal,
      ...(ceiling.kind === 'id-jag'
        ? {}
        : { mode: ceiling.kind === 'assertion' ? 'assertion' : act ? 'delegation' : 'impersonation' }),
      act,
      audience,
      scope,
      issuedAt,
      expiresAt,
      ...(policy ? { rule: policy.label } : {}),
    };
    if (audit) recordDecision(audit, grant, subject);
    return grant;
  }

  /**
   * Anchors with `rules:`: the first matching rule grants, and a subject matching none gets nothing.
   * Refusals name the step, never the policy's contents; the internal detail (audit `reason`) names the
   * anchor and rule.
   */
  private applyPolicy(subject: ValidatedToken, clientId: string, role: TokenRole): PolicyGrant | undefined {
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
    // RFC 9068 §2.2: actbridge's `sub` equal to a client_id names that client itself (as `act` names it).
    if (rule.subject && this.clients?.find(formed.value)) {
      throw tokenRejected(
        role,
        "is refused by its trust anchor's policy: the issued subject could not be formed",
        `rule ${label}: subject ${JSON.stringify(formed.value.slice(0, 200))} is the client_id of a registered client`,
      );
    }
    // A formed `sub` is actbridge's name for the subject, not the issuer's: sub_id (iss_sub) says so.
    const issued = rule.subject ? { sub: formed.value, iss: this.server.issuer } : subject.principal;
    return { rule, label, subject: issued };
  }

  /**
   * RFC 8693 §1.1: impersonation only when the client's policy allows it and the subject token is not
   * already delegated or delegable (act / may_act): such a token is exchanged by delegation, with the
   * client as actor, so no exchange ever launders a delegated token into a plain one.
   */
  private actChain({ client, subject, actor }: DecisionInput, policy: PolicyGrant | undefined): ActClaim | undefined {
    const trusted = policy?.rule.trustChains ?? subject.anchor.trustedForChains;
    const prior = priorChain(subject, trusted, this.server.maxChainDepth);
    if (actor && actor.act !== undefined) {
      throw new InvalidRequest('actor_token must identify the actor itself; it carries an act claim');
    }
    // RFC 8693 §1.1: the actor is another party than the subject, under the names rules give them too.
    if (actor)
      refuseSubjectAsActor(subject, actor, { subject: policy?.subject, actor: this.formedName(actor, client) });
    if (!actor && client.impersonation && prior === undefined && subject.mayAct === undefined) return undefined;
    const current = actor ? actorFromToken(actor) : this.clientAsActor(client);
    enforceMayAct(subject, current, actor !== undefined);
    const act = nestActor(current, prior);
    const depth = chainDepth(act);
    if (depth > this.server.maxChainDepth) {
      throw new InvalidRequest(
        `delegation chain too deep: the token would record ${depth} actors, at most ${this.server.maxChainDepth} are allowed`,
      );
    }
    return act;
  }

  /**
   * An assertion grant names the client by `client_id`, without `act`: a delegated or delegable token
   * must go through token exchange, where its chain or may_act is checked and kept, or it would be
   * laundered into a token without `act`. An ID-JAG carries none either (ID-JAG §3.1 leaves how `act`
   * is formed undefined), and token exchange is no way out for it: it is that exchange (issuing), or a
   * token no exchange accepts (redeeming, typ oauth-id-jag+jwt).
   */
  private noChain(subject: ValidatedToken, actor: ValidatedToken | undefined, role: TokenRole): undefined {
    if (actor) throw new InvalidRequest('actor_token is not supported by this grant');
    if (subject.act !== undefined || subject.mayAct !== undefined) {
      const idJag = role === 'subject' || subject.tokenType === TokenTypes.idJag;
      throw tokenRejected(
        role,
        idJag
          ? 'carries act or may_act (a delegation chain), which an ID-JAG cannot carry'
          : 'carries act or may_act; present it through token exchange instead',
      );
    }
    return undefined;
  }

  private targets({ client, request, ceiling }: DecisionInput): string[] {
    const own = ceiling.targets;
    if (own && 'decided' in own) return [...own.decided];
    if (own) return targetsWithin(request.resources, own.within, client, this.server.maxTargets);
    return resolveTargets(request.audiences, request.resources, client, this.server.maxTargets);
  }

  /**
   * The `sub` its anchor's rules would form for a token (in actbridge's namespace), when one matches and
   * forms one: the name that token's party is issued under, whatever role it is presented in.
   */
  private formedName(token: ValidatedToken, client: ClientConfig): Principal | undefined {
    const rule = this.evaluatePolicy(token, client.client_id)?.matched;
    if (!rule?.subject) return undefined;
    const formed = AnchorPolicy.formSubject(rule, buildSubjectView(token, client.client_id));
    return formed.ok ? { sub: formed.value, iss: this.server.issuer } : undefined;
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

/** The audit fields of a decision, written here for every grant. */
function recordDecision(audit: AuditRecord, grant: DelegationGrant, subject: ValidatedToken): void {
  recordSubject(audit, subject);
  if (grant.subject !== subject.principal) audit.issued_subject = grant.subject;
  if (grant.mode) audit.mode = grant.mode;
  if (grant.mode === 'delegation' || grant.mode === 'impersonation') audit.actors = actorsOutermostFirst(grant.act);
  audit.audience = [...grant.audience];
  audit.scope = grant.scope.join(' ');
  audit.ttl = grant.expiresAt - grant.issuedAt;
}

/** RFC 8707 / RFC 8693 §2.2.2: a target the policy does not grant is invalid_target. */
function enforcePolicyTargets(audience: readonly string[], policy: PolicyGrant): void {
  const refused = audience.filter((target) => !policy.rule.audiences.includes(target));
  if (refused.length > 0) {
    throw new InvalidTarget("target not granted to this subject by its trust anchor's policy", {
      detail: `rule ${policy.label} does not grant ${refused.map((t) => JSON.stringify(t.slice(0, 200))).join(', ')}`,
    });
  }
}

/**
 * SAML Core §2.5.1.6: a ProxyRestriction's Audience list names the only audiences the asserting party lets
 * a token issued on the assertion's basis have. A target outside it is not the client's to ask for
 * (invalid_target), whichever token (`role`) carries the restriction.
 */
function enforceProxyAudiences(audience: readonly string[], token: ValidatedToken, role: TokenRole): void {
  const allowed = token.proxyAudiences;
  if (allowed === undefined) return;
  const refused = audience.filter((target) => !allowed.includes(target));
  if (refused.length > 0) {
    throw new InvalidTarget(
      `target not allowed by the ${tokenParameter(role)}'s ProxyRestriction: ${refused.map((t) => quoted(t.slice(0, 200))).join(', ')}`,
    );
  }
}

function expired(role: TokenRole, actor: boolean): OAuthError {
  if (role === 'assertion') return new InvalidGrant('assertion has expired');
  return new InvalidRequest(`${actor ? 'actor_token' : 'subject_token'} has expired`);
}

function actorFromToken(actor: ValidatedToken): ActorIdentity {
  return {
    sub: actor.principal.sub,
    iss: actor.principal.iss,
    claims: actorClaims(actor),
    ...(actor.anchor.attestation === undefined ? {} : { attestedBy: actor.anchor.attestation }),
  };
}
