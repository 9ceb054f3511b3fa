import { Injectable } from '@nestjs/common';
import type { ProtectedHeaderParameters } from 'jose';
import { decodeJoseHeader } from '../jose/jwt-verify.js';
import { TrustAnchorRegistry } from '../trust-anchors/trust-anchor-registry.js';
import { audiencesForTyp, isGenericTyp } from './audiences.js';
import { JwtTokenVerifier, normaliseTyp } from './jwt-token-verifier.js';
import { OpaqueAccessTokenValidator } from './opaque-access-token.js';
import type { SubjectTokenValidator } from './subject-token-validator.js';
import { TokenTypes } from '../oauth/token-types.js';
import type { ValidatedToken, ValidationContext } from './validated-token.js';

/**
 * `urn:ietf:params:oauth:token-type:access_token`, in either form:
 *  - a JWT access token (RFC 9068). Its `typ` must be `at+jwt`, or one the anchor lists in
 *    `access_token_typ`. A token typed only `JWT` (or untyped) cannot be told from an ID token by its
 *    header, so it must be addressed to actbridge itself (the anchor's `audiences`), never to the
 *    client: a client-addressed `aud` is exactly what an ID token issued to that client carries.
 *  - an opaque token, validated by RFC 7662 introspection at the one anchor the presenting client is
 *    bound to (OpaqueAccessTokenValidator).
 */
@Injectable()
export class AccessTokenValidator implements SubjectTokenValidator {
  readonly tokenType = TokenTypes.accessToken;

  constructor(
    private readonly verifier: JwtTokenVerifier,
    private readonly anchors: TrustAnchorRegistry,
    private readonly opaque: OpaqueAccessTokenValidator,
  ) {}

  validate(token: string, context: ValidationContext): Promise<ValidatedToken> {
    const header = joseHeader(token);
    if (!header) {
      const anchor = this.anchors.introspectingAnchorFor(context.client.client_id);
      if (anchor) return this.opaque.validate(token, context, anchor);
    }
    return this.verifier.verify(
      token,
      context,
      {
        tokenType: this.tokenType,
        acceptedTyp: (anchor) => anchor.accessTokenTyp.map((typ) => normaliseTyp(typ) ?? typ),
        acceptedAudiences: audiencesForTyp,
        audienceRefusal: (_client, typ) =>
          isGenericTyp(typ)
            ? `audience is not accepted: an access token without typ at+jwt must name actbridge itself (a client-addressed one could be an ID token)`
            : undefined,
      },
      header,
    );
  }
}

/**
 * The JOSE header when the token is a JWS or JWE (its first segment a JOSE header with `alg`), else
 * undefined. Anything else is treated as opaque: a token that merely has dots in it is not taken for a
 * malformed JWT.
 */
function joseHeader(token: string): ProtectedHeaderParameters | undefined {
  const header = decodeJoseHeader(token);
  return typeof header?.alg === 'string' ? header : undefined;
}
