import { Injectable } from '@nestjs/common';
import { ClientRegistry } from '../clients/client-registry.js';
import { DelegationPolicy, type DelegationGrant } from '../delegation/delegation-policy.js';
import { TokenExchangeRequest } from '../grants/token-exchange.request.js';
import { errorDescription } from '../oauth/error-description.js';
import { OAuthError } from '../oauth/oauth-error.js';
import { SubjectTokenValidators } from '../subject-tokens/subject-token-validators.js';
import type { ValidatedToken } from '../subject-tokens/validated-token.js';
import { TokenRequestParams } from '../oauth/request-params.js';
import { AnchorPolicy, type RuleTrace } from '../policy/anchor-policy.js';
import type { VariableRead } from '../policy/policy-language.js';
import { buildSubjectView } from '../delegation/subject-view.js';
import { TOKEN_EXCHANGE_GRANT } from '../oauth/grant-types.js';
import { enforceSenderConstraint, senderConstraint } from '../dpop/sender-constraint.js';

/** A token exchange to try without issuing anything: what `npm run explain` and `npm run policy:test` run. */
export interface PolicyCheckInput {
  readonly client_id: string;
  /** A presented token (validated by the real validators), or an already validated one (policy tests' claims). */
  readonly subject: { readonly token: string; readonly tokenType: string } | { readonly validated: ValidatedToken };
  /** An actor token and its type; one without the other is refused as the token endpoint refuses it. */
  readonly actor?: { readonly token?: string; readonly tokenType?: string };
  /** RFC 8693 §2.1; a type the token endpoint cannot issue is refused. Default: an access token. */
  readonly requested_token_type?: string;
  readonly audience?: readonly string[];
  readonly resource?: readonly string[];
  /** Space-separated, as in a request. */
  readonly scope?: string;
}

export type PolicyCheckStep = 'request' | 'client' | 'subject_token' | 'actor_token' | 'delegation';

export type PolicyCheckOutcome =
  | {
      readonly decision: 'issue';
      readonly sub: string;
      /** The namespace of `sub` (sub_id iss): the subject's issuer, or actbridge for a formed subject. */
      readonly sub_iss: string;
      readonly mode: DelegationGrant['mode'];
      readonly act: DelegationGrant['act'];
      readonly audience: readonly string[];
      readonly scope: string;
      readonly ttl: number;
      readonly expires_at: string;
      readonly rule?: string;
      /**
       * A presented token is DPoP-bound (`cnf.jkt`): the request must carry a DPoP proof signed with the
       * key of this thumbprint (RFC 9449 §6.1), else the token endpoint refuses; the issued token is bound to it.
       */
      readonly dpop_jkt?: string;
      /**
       * The request must carry a DPoP proof, by any key: the client is registered with
       * `dpop_bound_access_tokens` (RFC 9449 §5.2), else the token endpoint refuses it (invalid_dpop_proof).
       */
      readonly dpop_required_by_client?: true;
    }
  | {
      readonly decision: 'refuse';
      readonly step: PolicyCheckStep;
      readonly error: string;
      readonly error_description: string;
      /** Operator detail (what the audit line's `reason` would say). */
      readonly detail?: string;
    };

export interface PolicyCheckReport {
  readonly client_id: string;
  readonly anchor?: { readonly name: string; readonly issuer: string; readonly has_rules: boolean };
  readonly subject?: { readonly sub: string; readonly iss: string; readonly token_type: string };
  /** Every rule of the anchor in order, each with the inputs its condition read and its result. */
  readonly rules?: readonly RuleTrace[];
  /** The first matching rule's subject expression, when it has one. */
  readonly subject_expression?: {
    readonly rule: string;
    readonly reads: readonly VariableRead[];
    readonly result: string;
  };
  readonly outcome: PolicyCheckOutcome;
}

/**
 * Runs a token exchange through the same steps as the token endpoint (request parsing, client policy,
 * validators, delegation core) but never mints, audits or answers: a report of what would happen. The
 * caller's Nest context decides which replay store validators see (policy tools use a non-consuming one).
 */
@Injectable()
export class PolicyCheck {
  constructor(
    private readonly clients: ClientRegistry,
    private readonly validators: SubjectTokenValidators,
    private readonly policy: DelegationPolicy,
  ) {}

  async run(input: PolicyCheckInput): Promise<PolicyCheckReport> {
    const report: { -readonly [K in keyof PolicyCheckReport]: PolicyCheckReport[K] } = {
      client_id: input.client_id,
      outcome: undefined as unknown as PolicyCheckOutcome,
    };
    let step: PolicyCheckStep = 'request';
    try {
      const request = this.parse(input);
      step = 'client';
      const client = this.clients.find(input.client_id);
      if (!client) return refuse(report, step, 'invalid_client', 'unknown client');
      if (!client.grant_types.includes(TOKEN_EXCHANGE_GRANT)) {
        return refuse(report, step, 'unauthorized_client', 'this client may not use this grant_type');
      }

      step = 'subject_token';
      const subject =
        'validated' in input.subject
          ? input.subject.validated
          : await this.validators.validate(input.subject.tokenType, input.subject.token, { role: 'subject', client });
      report.anchor = {
        name: subject.anchor.name,
        issuer: subject.anchor.issuer,
        has_rules: false,
      };
      report.subject = { sub: subject.principal.sub, iss: subject.principal.iss, token_type: subject.tokenType };
      const evaluation = this.policy.evaluatePolicy(subject, client.client_id, true);
      if (evaluation) {
        report.anchor = { ...report.anchor, has_rules: true };
        report.rules = evaluation.trace;
        const rule = evaluation.matched;
        if (rule?.subject) {
          const view = buildSubjectView(subject, client.client_id);
          const formed = AnchorPolicy.formSubject(rule, view);
          report.subject_expression = {
            rule: rule.name,
            reads: rule.subject.reads(view),
            result: formed.ok ? formed.value : `error: ${formed.error}`,
          };
        }
      }

      step = 'actor_token';
      const actor =
        request.actor_token === undefined
          ? undefined
          : await this.validators.validate(request.actor_token_type!, request.actor_token, { role: 'actor', client });

      // RFC 9449 §6.1, as the token endpoint checks it (after both tokens validated): a cnf no request can
      // satisfy is refused; a cnf.jkt needs the request's DPoP proof by that key, which one proof can give
      // both tokens only when they are bound to the same key.
      step = 'subject_token';
      let dpopJkt = senderConstraint(subject, 'subject');
      if (actor) {
        step = 'actor_token';
        if (dpopJkt === undefined) dpopJkt = senderConstraint(actor, 'actor');
        else enforceSenderConstraint(actor, { jkt: dpopJkt }, 'actor');
      }

      step = 'delegation';
      const grant = this.policy.decide({
        client,
        subject,
        actor,
        request: { audiences: request.audience, resources: request.resource, scope: request.requestedScope },
        ceiling: { kind: 'exchange' },
      });
      report.outcome = {
        decision: 'issue',
        sub: grant.subject.sub,
        sub_iss: grant.subject.iss,
        mode: grant.mode,
        act: grant.act,
        audience: grant.audience,
        scope: grant.scope.join(' '),
        ttl: grant.expiresAt - grant.issuedAt,
        expires_at: new Date(grant.expiresAt * 1000).toISOString(),
        ...(grant.rule ? { rule: grant.rule } : {}),
        ...(dpopJkt === undefined ? {} : { dpop_jkt: dpopJkt }),
        ...(client.dpop_bound_access_tokens ? { dpop_required_by_client: true } : {}),
      };
      return report;
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error;
      return refuse(report, step, error.error, error.description, error.detail);
    }
  }

  /** The request parameters, through the token endpoint's own parsing and checks. */
  private parse(input: PolicyCheckInput): TokenExchangeRequest {
    // A validated subject (a policy test's claims) stands in for a presented token of its type.
    const subject =
      'validated' in input.subject
        ? { token: '(validated)', tokenType: input.subject.validated.tokenType }
        : input.subject;
    const request = TokenExchangeRequest.from(
      TokenRequestParams.from({
        subject_token: [subject.token],
        subject_token_type: [subject.tokenType],
        ...(input.actor?.token === undefined ? {} : { actor_token: [input.actor.token] }),
        ...(input.actor?.tokenType === undefined ? {} : { actor_token_type: [input.actor.tokenType] }),
        ...(input.requested_token_type === undefined ? {} : { requested_token_type: [input.requested_token_type] }),
        audience: input.audience ?? [],
        resource: input.resource ?? [],
        ...(input.scope === undefined ? {} : { scope: [input.scope] }),
      }),
    );
    request.issuedTokenType();
    return request;
  }
}

function refuse(
  report: { outcome: PolicyCheckOutcome },
  step: PolicyCheckStep,
  error: string,
  description: string,
  detail?: string,
): PolicyCheckReport {
  report.outcome = {
    decision: 'refuse',
    step,
    error,
    // What the token endpoint would send (RFC 6749 §5.2's characters), not the raw text.
    error_description: errorDescription(description),
    ...(detail ? { detail } : {}),
  };
  return report as PolicyCheckReport;
}
