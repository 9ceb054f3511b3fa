import { Inject, Injectable } from '@nestjs/common';
import type { JWTPayload } from 'jose';
import type { ClientConfig } from '../clients/client.config.js';
import { clock } from '../common/clock.js';
import { SERVER_CONFIG, type ServerConfig } from '../config/server-config.js';
import type { TokenExchangeRequest } from './token-exchange.request.js';
import { TokenMinter, type MintedToken } from '../keys/token-minter.js';
import { DelegationPolicy } from '../delegation/delegation-policy.js';
import { recordIssuance, recordSubject, type AuditRecord } from '../audit/audit-record.js';
import { atStep, inSpan } from '../observability/tracing.js';
import { enforceSenderConstraint } from '../dpop/sender-constraint.js';
import { InvalidGrant, InvalidRequest, InvalidScope, OAuthError, UnauthorizedClient } from '../oauth/oauth-error.js';
import { SubjectTokenValidators } from '../subject-tokens/subject-token-validators.js';
import { TokenTypes } from '../oauth/token-types.js';
import type { Principal, ValidatedToken, ValidationContext } from '../subject-tokens/validated-token.js';
import type { GrantContext } from './grant-handler.js';
import { lineageLink, RevocationList, type LineageLink } from '../subject-tokens/revocation-check.js';
import { ID_JAG_TYP, IDENTITY_ASSERTION_TYPES } from '../id-jag/id-jag.js';
import { checkSamlSubjectClient, decideIdJagTarget, type IdJagTargetDecision } from '../id-jag/id-jag-policy.js';
import { checkMcpIdJagRequest } from '../id-jag/mcp-profile.js';
import { type TokenResponse } from '../oauth/token-response.js';
import { authenticationContext } from '../subject-tokens/authentication-context.js';

/**
 * IdP role of ID-JAG (draft-ietf-oauth-identity-assertion-authz-grant-04 §4.3): a token exchange with
 * `requested_token_type=urn:ietf:params:oauth:token-type:id-jag` turns an Identity Assertion issued to
 * the client (an ID token, or a SAML assertion) into an ID-JAG for one resource authorization server,
 * within the client's `id_jag` policy. The token-exchange grant delegates such requests here.
 *
 * Errors: a subject token that fails validation is `invalid_grant`, as the draft's §4.3.3 example says
 * (RFC 8693 §2.2.2 would say invalid_request; the profile wins for this token type).
 */
@Injectable()
export class IdJagIssuer {
  private readonly server: Pick<ServerConfig, 'idJagTtl' | 'maxTargets' | 'clockSkew'>;

  constructor(
    private readonly validators: SubjectTokenValidators,
    private readonly minter: TokenMinter,
    private readonly delegation: DelegationPolicy,
    private readonly revocations: RevocationList,
    @Inject(SERVER_CONFIG) server: ServerConfig,
  ) {
    this.server = server;
  }

  async issue(
    request: TokenExchangeRequest,
    { client, audit, dpop }: Pick<GrantContext, 'client' | 'audit' | 'dpop'>,
  ): Promise<TokenResponse> {
    refuseUnsupported(request);
    if (!client.id_jag) throw new UnauthorizedClient('this client may not request ID-JAGs');
    if (client.id_jag.profile === 'mcp') checkMcpIdJagRequest(request);
    checkSamlSubjectClient(request.subject_token_type, client.id_jag, client.client_id);

    const subject = await asInvalidGrant(async () => {
      const token = await this.validateSubject(request, client);
      // RFC 9449 §6.1, ID-JAG §9.8: a key-bound identity assertion needs a proof by its key, or a
      // stolen one would become an ID-JAG (unbound, or bound to the thief's key).
      enforceSenderConstraint(token, dpop, 'subject');
      return token;
    });
    recordSubject(audit, subject);
    const lineage = [lineageLink(subject, request.subject_token, 'subject')];
    const decision = decideIdJagTarget(
      client.id_jag,
      { audiences: request.audience, resources: request.resource },
      this.server.maxTargets,
    );
    // The subject's trust-anchor rules (CEL) apply to ID-JAGs as to every other token: they bound the
    // resource AS (their `audiences`), the scopes, the lifetime and the issued `sub`. §3.1: short-lived.
    const grant = await asInvalidGrant(async () =>
      this.delegation.decide(
        {
          client,
          subject,
          request: { audiences: request.audience, resources: request.resource, scope: request.requestedScope },
          ceiling: {
            kind: 'id-jag',
            ttl: client.id_jag!.ttl ?? this.server.idJagTtl,
            scope: decision.scope,
            targets: { decided: [decision.target.audience] },
          },
        },
        audit,
      ),
    );
    // §4.3.3: the granted scope goes into the ID-JAG, where the resource AS reads it as a ceiling; an ID-JAG
    // without one sets none there (actbridge's jwt-bearer grant then allows the client's every scope), so
    // a grant of no scope is refused rather than carried as no limit.
    if (grant.scope.length === 0) {
      throw new InvalidScope(
        `no scope is granted to this client at ${decision.target.audience}; an ID-JAG without scope would set no limit there`,
      );
    }
    if (decision.resources.length > 0) audit.resource = [...decision.resources];
    // ID-JAG §9.8: with a DPoP proof, the ID-JAG is bound to its key (cnf.jkt); the resource AS then
    // requires a proof by that key when it is redeemed. token_type stays N_A.
    const claims = {
      ...idJagClaims(
        subject,
        grant.subject,
        { ...decision, scope: grant.scope },
        clock.seconds() + this.server.clockSkew,
      ),
      ...(dpop ? { cnf: { jkt: dpop.jkt } } : {}),
    };
    // §4.3.3: a subject found revoked as the lineage is recorded is invalid_grant, as every subject failure.
    const minted = await asInvalidGrant(async () => {
      // RFC 7522 §3 item 6: a SAML subject's ID is spent by the ID-JAG it yields, not by a request refused
      // for its target or scope, which the client retries (as the jwt-bearer grant spends its assertions).
      await atStep('token_validation', async () => subject.spend?.());
      return this.mint(claims, grant, lineage, { client, audit, audience: decision.target.audience });
    });
    // §4.3.4: token_type N_A (an ID-JAG is no access token); no refresh token.
    return {
      access_token: minted.token,
      issued_token_type: TokenTypes.idJag,
      token_type: 'N_A',
      expires_in: grant.expiresAt - grant.issuedAt,
      ...(grant.scope.length > 0 ? { scope: grant.scope.join(' ') } : {}),
    };
  }

  /** Signs the ID-JAG and records its lineage and audit fields. */
  private async mint(
    claims: JWTPayload,
    grant: { subject: Principal; issuedAt: number; expiresAt: number },
    lineage: readonly LineageLink[],
    { client, audit, audience }: { client: ClientConfig; audit: AuditRecord; audience: string },
  ): Promise<MintedToken> {
    const minted = await inSpan('sign', 'signing', () =>
      this.minter.mint(claims, { typ: ID_JAG_TYP, issuedAt: grant.issuedAt, expiresAt: grant.expiresAt }),
    );
    const parents = await this.revocations.record(lineage, {
      jti: minted.jti,
      subject: grant.subject,
      client_id: client.client_id,
      audience: [audience],
      typ: ID_JAG_TYP,
      iat: grant.issuedAt,
      exp: grant.expiresAt,
    });
    recordIssuance(audit, minted.jti, TokenTypes.idJag, parents, minted.expiresAt);
    return minted;
  }

  /**
   * §4.3.3: validate the Identity Assertion, whose audience must be the authenticated client (the
   * validator's rule for ID tokens), and accept it only if its validated type is an identity assertion.
   */
  private async validateSubject(request: TokenExchangeRequest, client: ClientConfig): Promise<ValidatedToken> {
    const type = request.subject_token_type;
    // A SAML assertion issued to the client's own service provider, when it has one (§4.3.3).
    const sp = client.id_jag?.saml_sp;
    const context: ValidationContext = {
      role: 'subject',
      client,
      // Spent in issue(), once nothing else refuses the request.
      deferSingleUse: true,
      ...(sp && { samlServiceProvider: { entityId: sp.entity_id, acsUrls: sp.acs_urls } }),
    };
    if (!this.validators.supportedTypes.includes(type)) {
      // No validator for it (yet): the dispatcher's own invalid_request, naming what is supported.
      return this.validators.validate(type, request.subject_token, context);
    }
    const subject = await this.validators.validate(type, request.subject_token, context);
    if (!IDENTITY_ASSERTION_TYPES.includes(subject.tokenType)) {
      throw new InvalidGrant('subject_token is not an identity assertion');
    }
    return subject;
  }
}

/** §4.3.1: what an ID-JAG request may not carry, refused rather than ignored. */
function refuseUnsupported(request: TokenExchangeRequest): void {
  // actor_token processing is left to future profiles.
  if (request.actor_token !== undefined) {
    throw new InvalidRequest('actor_token is not supported when requesting an ID-JAG');
  }
  // §4.3.4: granted authorization_details go into the ID-JAG and a modified one is returned. actbridge
  // implements no RFC 9396 type: dropping it silently would issue more than was asked for.
  if (request.authorization_details !== undefined) {
    throw new InvalidRequest(
      'authorization_details is not supported when requesting an ID-JAG; ask with scope and resource',
    );
  }
  if (!IDENTITY_ASSERTION_TYPES.includes(request.subject_token_type)) {
    throw new InvalidRequest(
      `an ID-JAG needs an identity assertion as subject_token; subject_token_type must be one of: ${IDENTITY_ASSERTION_TYPES.join(', ')}`,
    );
  }
}

/**
 * §3.1 claims (`iss`, `iat`, `exp`, `jti` are set by the minter). `sub` is the subject's identifier as
 * the assertion gave it: a pairwise or per-audience subject mapping is the policy layer's to add.
 */
function idJagClaims(
  subject: ValidatedToken,
  principal: Principal,
  decision: Omit<IdJagTargetDecision, 'scope'> & { readonly scope: readonly string[] },
  latestAuthTime: number,
): JWTPayload {
  const resources = decision.resources;
  const email = verifiedEmail(subject);
  return {
    sub: principal.sub,
    // §3.3 / RFC 9493: which namespace `sub` lives in (a SAML NameID, or the issuer that vouched for it;
    // actbridge's own issuer when a policy rule formed the `sub`).
    sub_id:
      principal !== subject.principal
        ? { format: 'iss_sub', iss: principal.iss, sub: principal.sub }
        : subject.nameId
          ? {
              format: 'saml-nameid',
              issuer: subject.principal.iss,
              nameid: subject.nameId.value,
              // §3.3: each optional member exactly when the NameID has the attribute (they scope the value).
              ...(subject.nameId.format ? { nameid_format: subject.nameId.format } : {}),
              ...(subject.nameId.nameQualifier ? { name_qualifier: subject.nameId.nameQualifier } : {}),
              ...(subject.nameId.spNameQualifier ? { sp_name_qualifier: subject.nameId.spNameQualifier } : {}),
              ...(subject.nameId.spProvidedId ? { sp_provided_id: subject.nameId.spProvidedId } : {}),
            }
          : { format: 'iss_sub', iss: subject.principal.iss, sub: subject.principal.sub },
    aud: decision.target.audience,
    client_id: decision.target.client_id,
    ...(resources.length === 1 ? { resource: resources[0] } : resources.length > 1 ? { resource: [...resources] } : {}),
    ...(decision.scope.length > 0 ? { scope: decision.scope.join(' ') } : {}),
    // Authentication context and email, when the assertion carried them (§3.1, OIDC Core §2).
    ...authenticationContext(subject, latestAuthTime),
    ...(email !== undefined ? { email } : {}),
  };
}

/**
 * The subject's email for the ID-JAG, only when its issuer vouches for it: a JWT's `email` only with
 * `email_verified: true` (OIDC Core §5.1: otherwise it may be any address the user typed, and a
 * resource AS that links accounts by email would take it as proof); a SAML assertion's email attribute
 * is the IdP's directory entry, signed by it, and SAML has no such flag.
 */
function verifiedEmail(subject: ValidatedToken): string | undefined {
  const { email, email_verified: verified } = subject.claims;
  if (typeof email !== 'string') return undefined;
  return subject.tokenType === TokenTypes.saml2 || verified === true ? email : undefined;
}

/**
 * §4.3.3: a subject token that fails validation or policy is invalid_grant, as the draft's example says
 * (RFC 8693 §2.2.2 would say invalid_request; the profile wins for this token type).
 */
async function asInvalidGrant<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof OAuthError && error.error === 'invalid_request') {
      throw new InvalidGrant(error.description, { detail: error.detail, cause: error });
    }
    throw error;
  }
}
