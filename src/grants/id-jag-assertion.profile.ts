import { Injectable } from '@nestjs/common';
import type { ClientConfig } from '../clients/client.config.js';
import { JwtAssertionProfile, rejectAssertion, reusable, type AssertionGrant } from './assertion-profile.js';
import { TokenTypes } from '../oauth/token-types.js';
import type { JwtTypeRules } from '../subject-tokens/jwt-token-verifier.js';
import { ID_JAG_TYP } from '../id-jag/id-jag.js';
import { mcpResourceProblem } from '../id-jag/mcp-profile.js';

const fail = rejectAssertion;

/**
 * Resource-AS role of ID-JAG (draft-ietf-oauth-identity-assertion-authz-grant-04 §4.4): an ID-JAG
 * presented at the jwt-bearer grant, from an IdP whose trust anchor has an `id_jag:` section. On top
 * of the JWT checks every assertion gets (signature with the anchor's keys, `exp`, `nbf`, `iat`):
 * `typ` oauth-id-jag+jwt, `aud` exactly our issuer, `client_id` the authenticated client, `jti` and
 * `iat` present, the anchor's age bounds and jti policy. Every failure is invalid_grant (RFC 7523 §3.1).
 */
@Injectable()
export class IdJagAssertionProfile extends JwtAssertionProfile {
  readonly assertionType = TokenTypes.idJag;

  private readonly rules: JwtTypeRules = {
    tokenType: TokenTypes.idJag,
    // §3.1 / RFC 8725 §3.11: explicitly typed, so no other JWT can pass as an ID-JAG.
    acceptedTyp: () => [ID_JAG_TYP],
    acceptedAudiences: () => [this.issuer],
    audienceRefusal: () => `audience is not accepted: it must be exactly ${this.issuer}`,
    check: (claims, presenter, reject) => {
      // §4.4.1: aud is our issuer identifier, as a string or a one-element array (audience injection).
      if (Array.isArray(claims.aud) && claims.aud.length !== 1) {
        reject(`aud must be exactly ${this.issuer}: a string or a one-element array`);
      }
      // §4.4.1: client_id is the client the ID-JAG was issued for, which must be the one redeeming it.
      if (typeof claims.client_id !== 'string') reject('has no client_id claim');
      if (claims.client_id !== presenter.client_id) reject('client_id does not match the authenticated client');
      // §3.1: jti and iat are REQUIRED.
      if (typeof claims.jti !== 'string' || claims.jti.length === 0 || claims.jti.length > 256) {
        reject('has no valid jti claim');
      }
      if (typeof claims.iat !== 'number') reject('has no iat claim');
      // §3.1 / §4.4.2: authorization_details (RFC 9396) is a ceiling like scope and resource. actbridge
      // cannot keep it in what it issues, and a token without it would grant more than the IdP did.
      if (claims.authorization_details !== undefined) {
        reject('carries authorization_details (RFC 9396), which actbridge cannot honour as a ceiling');
      }
    },
  };

  async redeem(assertion: string, client: ClientConfig): Promise<AssertionGrant> {
    // A known issuer that has not opted in (including actbridge itself: §9.3, an ID-JAG must cross a
    // domain) is refused before any further work. Unknown issuers are refused by the verifier.
    this.refuseOutsider(this.knownIssuer(assertion), 'idJag', 'issuer is not trusted for ID-JAGs');
    const token = await this.verifier.verify(assertion, { role: 'assertion', client }, this.rules);
    const section = this.sectionOf(token, 'idJag', 'issuer is not trusted for ID-JAGs');

    const resourceCeiling = resourceClaim(token.claims.resource);
    if (section.profile === 'mcp') {
      const problem = mcpResourceProblem(resourceCeiling);
      if (problem) fail(problem);
    }

    // §4.4.4: re-presentable until exp by default; single use when the anchor says so.
    const spend =
      section.jti === 'single_use'
        ? () => this.consumeJti('id-jag', token, token.claims.jti as string, 'the ID-JAG')
        : reusable;

    // §4.4.2: the ID-JAG's scope and resource are ceilings of what is issued.
    return { token, scopeCeiling: token.scope, resourceCeiling, spend };
  }
}

/** §3.1 `resource`: one URI as a string, or several as an array (RFC 8707). */
function resourceClaim(resource: unknown): readonly string[] | undefined {
  if (resource === undefined) return undefined;
  if (typeof resource === 'string' && resource.length > 0) return [resource];
  if (Array.isArray(resource) && resource.length > 0 && resource.every((r) => typeof r === 'string' && r.length > 0)) {
    return resource as string[];
  }
  return fail('has a malformed resource claim');
}
