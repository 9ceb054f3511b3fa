import { Injectable } from '@nestjs/common';
import { decodeProtectedHeader } from 'jose';
import type { ClientConfig } from '../clients/client.config.js';
import { ID_JAG_TYP } from '../id-jag/id-jag.js';
import { endpointUrl, TOKEN_ENDPOINT_PATH } from '../oauth/endpoint-paths.js';
import { quoted } from '../oauth/error-description.js';
import { TokenTypes } from '../oauth/token-types.js';
import type { JwtTypeRules } from '../subject-tokens/jwt-token-verifier.js';
import { JwtAssertionProfile, rejectAssertion, reusable, type AssertionGrant } from './assertion-profile.js';
import { glob } from '../common/wildcard.js';

const fail = rejectAssertion;

/**
 * RFC 7523 §2.1/§3 JWT authorization grant for any JWT other than an ID-JAG, from an issuer whose trust
 * anchor has a `jwt_bearer:` section (as an Ory Hydra trust relationship): `iss` a trusted anchor,
 * signature with its keys only, `aud` naming our issuer or token endpoint, `exp` required, `sub`
 * matching one of the anchor's subject patterns, the anchor's age bounds, and single-use `jti` unless
 * the anchor allows reuse. Scopes are bounded by the anchor's `scopes`. Failures are invalid_grant.
 */
@Injectable()
export class Rfc7523AssertionProfile extends JwtAssertionProfile {
  readonly assertionType = TokenTypes.jwt;
  // RFC 7523 §3 item 3 (and rfc7523bis for grants): the issuer identifier or the token endpoint URL.
  private readonly audiences = [this.issuer, endpointUrl(this.issuer, TOKEN_ENDPOINT_PATH)];

  private readonly rules: JwtTypeRules = {
    tokenType: this.assertionType,
    // Untyped or `JWT` only: explicitly typed JWTs (access tokens, ID-JAGs, logout tokens, DPoP
    // proofs, client assertions) are other kinds of token and never an authorization grant here.
    acceptedTyp: () => ['', 'jwt'],
    acceptedAudiences: () => this.audiences,
    audienceRefusal: () => `audience is not accepted: it must name ${this.audiences.join(' or ')}`,
  };

  async redeem(assertion: string, client: ClientConfig): Promise<AssertionGrant> {
    const known = this.knownIssuer(assertion);
    if (known?.idJag && !known.jwtBearer) {
      fail(
        `typ ${describeTyp(assertion)} is not accepted: this issuer is trusted for ID-JAGs only (typ ${ID_JAG_TYP})`,
      );
    }
    this.refuseOutsider(known, 'jwtBearer', 'issuer is not trusted for jwt-bearer assertions');
    const token = await this.verifier.verify(assertion, { role: 'assertion', client }, this.rules);
    const section = this.sectionOf(token, 'jwtBearer', 'issuer is not trusted for jwt-bearer assertions');

    const { sub } = token.principal;
    if (!section.subjects.some((pattern) => glob(sub, pattern))) {
      fail(
        'sub is not allowed for this issuer',
        `sub ${JSON.stringify(sub.slice(0, 200))} matches no subjects pattern`,
      );
    }

    // RFC 7523 §3 item 7: remember used jti values until exp.
    let spend = reusable;
    if (section.jti === 'single_use') {
      const jti = token.claims.jti;
      if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) {
        fail('has no valid jti claim (this issuer requires single-use assertions)');
      }
      spend = () => this.consumeJti('jwt-bearer', token, jti as string, 'the assertion');
    }

    return {
      token,
      scopeCeiling: token.scope === undefined ? section.scopes : section.scopes.filter((s) => token.scope!.includes(s)),
      resourceCeiling: undefined,
      spend,
    };
  }
}

function describeTyp(assertion: string): string {
  try {
    const { typ } = decodeProtectedHeader(assertion);
    return typ === undefined ? '(none)' : quoted(String(typ).slice(0, 100));
  } catch {
    return '(unreadable)';
  }
}
