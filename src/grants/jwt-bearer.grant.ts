import { Inject, Injectable } from '@nestjs/common';
import { decodeProtectedHeader } from 'jose';
import { type ClientConfig } from '../clients/client.config.js';
import { STS_CONFIG, type StsConfig } from '../config/sts-config.js';
import type { ServerConfig } from '../config/server-config.js';
import { DelegationPolicy, type PolicyGrant } from '../delegation/delegation-policy.js';
import { resolveTargets } from '../delegation/targets.js';
import { ID_JAG_TYP } from '../id-jag/id-jag.js';
import { IdJagAssertionProfile } from './id-jag-assertion.profile.js';
import { enforceSenderConstraint } from '../dpop/sender-constraint.js';
import { InvalidGrant, InvalidScope, InvalidTarget } from '../oauth/oauth-error.js';
import { normaliseTyp } from '../subject-tokens/jwt-token-verifier.js';
import type { GrantContext, GrantHandler, TokenResponse } from './grant-handler.js';
import { AccessTokenIssuer } from './access-token-issuer.js';
import type { AssertionGrant, AssertionProfile } from './assertion-profile.js';
import { JwtBearerRequest } from './jwt-bearer.request.js';
import { Rfc7523AssertionProfile } from './rfc7523-assertion.profile.js';
import { JWT_BEARER_GRANT } from '../oauth/grant-types.js';

/**
 * JWT authorization grant (RFC 7523 §2.1): `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`
 * with one JWT in `assertion`. The JOSE `typ` picks the profile (RFC 8725 §3.11): an ID-JAG
 * (`oauth-id-jag+jwt`) is redeemed under draft-ietf-oauth-identity-assertion-authz-grant; any other JWT
 * under plain RFC 7523. The profile validates and says what the assertion grants; this handler narrows
 * that by the client's policy and issues an RFC 9068 access token, without a refresh token (RFC 7521
 * §4.1, ID-JAG §4.4.3).
 */
@Injectable()
export class JwtBearerGrant implements GrantHandler {
  readonly grantType = JWT_BEARER_GRANT;
  private readonly server: Pick<ServerConfig, 'tokenTtl' | 'maxTargets'>;

  constructor(
    private readonly idJag: IdJagAssertionProfile,
    private readonly rfc7523: Rfc7523AssertionProfile,
    private readonly issuer: AccessTokenIssuer,
    private readonly delegation: DelegationPolicy,
    @Inject(STS_CONFIG) config: StsConfig,
  ) {
    this.server = config.server;
  }

  async handle({ params, client, audit, dpop }: GrantContext): Promise<TokenResponse> {
    const request = JwtBearerRequest.from(params);
    const profile = this.profileFor(request.assertion);
    audit.assertion_type = profile.assertionType;
    audit.mode = 'assertion';
    const redeemed = await profile.redeem(request.assertion, client);
    audit.subject = redeemed.subject;
    // ID-JAG §9.8 / RFC 9449: an assertion bound to a key (cnf.jkt) needs a DPoP proof by that key.
    enforceSenderConstraint(redeemed.token, dpop, 'assertion');
    // The issuer's trust-anchor rules (CEL), when it has any: no matching rule, no token; the rule bounds
    // targets, scopes and lifetime and may form the issued `sub`.
    const policy = this.delegation.applyPolicy(redeemed.token, client.client_id, 'assertion');
    const grant = policy ? withinPolicy(redeemed, policy, request.requestedScope) : redeemed;
    if (policy) {
      audit.rule = policy.label;
      if (grant.subject !== redeemed.subject) audit.issued_subject = grant.subject;
    }

    const audience = this.targets(request.resource, grant, client);
    if (policy) this.delegation.enforcePolicyTargets(audience, policy);
    const scope = narrowAssertionScope(request.requestedScope, grant.scopeCeiling, client.scopes);
    // The issued token never outlives the assertion it was granted for.
    const now = Math.floor(Date.now() / 1000);
    const ttl = Math.min(client.token_ttl ?? this.server.tokenTtl, policy?.rule.maxTtl ?? Infinity);
    const expiresAt = Math.min(now + ttl, grant.expiresAt);
    if (expiresAt <= now) throw new InvalidGrant('assertion has expired');

    return this.issuer.issue(
      { subject: grant.subject, audience, scope, issuedAt: now, expiresAt },
      { clientId: client.client_id, audit, dpop },
    );
  }

  private profileFor(assertion: string): AssertionProfile {
    let typ: string | undefined;
    try {
      typ = normaliseTyp(decodeProtectedHeader(assertion).typ);
    } catch {
      typ = undefined; // not a JWT: the RFC 7523 profile's verifier says so
    }
    return typ === ID_JAG_TYP ? this.idJag : this.rfc7523;
  }

  /**
   * RFC 8707 `resource` values, within the assertion's resource ceiling (ID-JAG §4.4.2) and the client's
   * `audiences`. None requested: the assertion's resources, else the client's default_audience.
   */
  private targets(requested: string[], grant: AssertionGrant, client: ClientConfig): string[] {
    const ceiling = grant.resourceCeiling;
    if (ceiling !== undefined) {
      const beyond = requested.filter((r) => !ceiling.includes(r));
      if (beyond.length > 0) {
        throw new InvalidTarget(
          `resource exceeds what the assertion grants: ${beyond.map((r) => JSON.stringify(r.slice(0, 200))).join(', ')}`,
        );
      }
      if (requested.length === 0) return resolveTargets([], ceiling, client, this.server.maxTargets);
    }
    return resolveTargets([], requested, client, this.server.maxTargets);
  }
}

/**
 * The assertion's grant narrowed by its anchor's matched rule: the rule's scopes become a further
 * ceiling (a requested scope beyond them is refused without naming them), and a `subject` expression
 * names the issued principal in actbridge's namespace.
 */
function withinPolicy(
  grant: AssertionGrant,
  policy: PolicyGrant,
  requested: readonly string[] | undefined,
): AssertionGrant {
  const granted = policy.rule.scopes;
  const notGranted = [...new Set(requested ?? [])].filter((s) => !granted.includes(s));
  if (notGranted.length > 0) {
    throw new InvalidScope("scope exceeds what this subject's trust anchor policy grants", {
      detail: `rule ${policy.label} does not grant: ${notGranted.join(' ')}`,
    });
  }
  const ceiling = grant.scopeCeiling === undefined ? granted : grant.scopeCeiling.filter((s) => granted.includes(s));
  return { ...grant, subject: policy.subject, scopeCeiling: ceiling };
}

/**
 * The issued scope: never beyond the client's `scopes` nor the assertion's ceiling (ID-JAG §4.4.2, the
 * anchor's `jwt_bearer.scopes`). Without a request, that whole intersection.
 */
export function narrowAssertionScope(
  requested: readonly string[] | undefined,
  ceiling: readonly string[] | undefined,
  clientScopes: readonly string[],
): string[] {
  const allowed = ceiling === undefined ? [...clientScopes] : clientScopes.filter((s) => ceiling.includes(s));
  if (requested === undefined) return allowed;
  const wanted = [...new Set(requested)];
  const notForClient = wanted.filter((s) => !clientScopes.includes(s));
  if (notForClient.length > 0) throw new InvalidScope(`scope not allowed for this client: ${notForClient.join(' ')}`);
  const beyond = wanted.filter((s) => !allowed.includes(s));
  if (beyond.length > 0) throw new InvalidScope(`scope exceeds what the assertion grants: ${beyond.join(' ')}`);
  return wanted;
}
