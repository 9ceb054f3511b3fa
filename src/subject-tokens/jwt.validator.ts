import { Injectable } from '@nestjs/common';
import { audiencesForTyp, isGenericTyp } from './audiences.js';
import { JwtRulesValidator, type JwtTypeRules } from './jwt-token-verifier.js';
import { TokenTypes } from '../oauth/token-types.js';

/**
 * `urn:ietf:params:oauth:token-type:jwt`: a JWT addressed to actbridge (or, typed `at+jwt`, to the
 * presenting client). Accepts untyped, `JWT` and `at+jwt` tokens; any other explicit type (ID-JAG, DPoP
 * proof, logout token, client assertion, ...) is a different kind of JWT and is refused. An untyped or
 * `JWT` token addressed to the client is what an ID token is: it must be presented as one, where its
 * `azp`, `iat` and the anchor's `token_types` are checked (OIDC Core §3.1.3.7, RFC 8725 §3.11).
 */
@Injectable()
export class JwtValidator extends JwtRulesValidator {
  protected readonly rules: JwtTypeRules = {
    tokenType: TokenTypes.jwt,
    acceptedTyp: () => ['', 'jwt', 'at+jwt'],
    acceptedAudiences: audiencesForTyp,
    audienceRefusal: (_client, typ) =>
      isGenericTyp(typ)
        ? `audience is not accepted: a JWT without typ at+jwt must name actbridge itself (a client-addressed one could be an ID token)`
        : undefined,
  };
}
