import { Injectable } from '@nestjs/common';
import { acceptedAudiences } from './audiences.js';
import { JwtRulesValidator, type JwtTypeRules } from './jwt-token-verifier.js';
import { TokenTypes } from '../oauth/token-types.js';

/**
 * `urn:ietf:params:oauth:token-type:jwt`: a JWT addressed to actbridge (or to the presenting client).
 * Accepts untyped, `JWT` and `at+jwt` tokens; any other explicit type (ID-JAG, DPoP proof, logout
 * token, client assertion, ...) is a different kind of JWT and is refused.
 */
@Injectable()
export class JwtValidator extends JwtRulesValidator {
  protected readonly rules: JwtTypeRules = {
    tokenType: TokenTypes.jwt,
    acceptedTyp: () => ['', 'jwt', 'at+jwt'],
    acceptedAudiences,
  };
}
