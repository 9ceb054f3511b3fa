import { recordSubject } from '../audit/audit-record.js';
import { Injectable } from '@nestjs/common';
import { atStep, inSpan } from '../observability/tracing.js';
import { decodeProtectedHeader } from 'jose';
import { ID_JAG_TYP } from '../id-jag/id-jag.js';
import { IdJagAssertionProfile } from './id-jag-assertion.profile.js';
import { enforceSenderConstraint } from '../dpop/sender-constraint.js';
import { normaliseTyp } from '../subject-tokens/jwt-token-verifier.js';
import type { GrantContext, GrantHandler } from './grant-handler.js';
import { GrantIssuance } from './grant-issuance.js';
import type { AssertionProfile } from './assertion-profile.js';
import { JwtBearerRequest } from './jwt-bearer.request.js';
import { Rfc7523AssertionProfile } from './rfc7523-assertion.profile.js';
import { JWT_BEARER_GRANT } from '../oauth/grant-types.js';
import { lineageLink } from '../subject-tokens/revocation-check.js';
import { type TokenResponse } from '../oauth/token-response.js';

/**
 * JWT authorization grant (RFC 7523 §2.1): `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`
 * with one JWT in `assertion`. The JOSE `typ` picks the profile (RFC 8725 §3.11): an ID-JAG
 * (`oauth-id-jag+jwt`) is redeemed under draft-ietf-oauth-identity-assertion-authz-grant; any other JWT
 * under plain RFC 7523. The profile validates and says what the assertion grants; the delegation core
 * bounds that by the client and the anchor's policy; this handler issues an RFC 9068 access token, without a refresh token (RFC 7521
 * §4.1, ID-JAG §4.4.3).
 */
@Injectable()
export class JwtBearerGrant implements GrantHandler {
  readonly grantType = JWT_BEARER_GRANT;

  constructor(
    private readonly idJag: IdJagAssertionProfile,
    private readonly rfc7523: Rfc7523AssertionProfile,
    private readonly issuance: GrantIssuance,
  ) {}

  async handle(context: GrantContext): Promise<TokenResponse> {
    const { client, audit } = context;
    const request = JwtBearerRequest.from(context.params);
    const profile = this.profileFor(request.assertion);
    audit.assertion_type = profile.assertionType;
    audit.mode = 'assertion';
    const redeemed = await inSpan('validate assertion', 'token_validation', () =>
      profile.redeem(request.assertion, client),
    );
    recordSubject(audit, redeemed.token);
    // ID-JAG §9.8 / RFC 9449: an assertion bound to a key (cnf.jkt) needs a DPoP proof by that key.
    enforceSenderConstraint(redeemed.token, context.dpop, 'assertion');
    const lineage = [lineageLink(redeemed.token, request.assertion, 'assertion')];
    const { scopeCeiling, resourceCeiling } = redeemed;
    return this.issuance.issue(
      {
        client,
        subject: redeemed.token,
        request: { audiences: [], resources: request.resource, scope: request.requestedScope },
        ceiling: {
          kind: 'assertion',
          ...(scopeCeiling && {
            scope: { scopes: scopeCeiling, refuse: (s) => `scope exceeds what the assertion grants: ${s.join(' ')}` },
          }),
          ...(resourceCeiling && { targets: { within: resourceCeiling } }),
        },
      },
      context,
      lineage,
      undefined,
      // RFC 7523 §3 item 7: a single-use assertion is spent once everything else accepted the request
      // (sender constraint, client and policy), so a refused presentation, e.g. by another client or
      // without the key a bound one needs, cannot use it up for its holder.
      () => atStep('token_validation', redeemed.spend),
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
}
