import { Injectable } from '@nestjs/common';
import { acceptedAudiences } from './audiences.js';
import { JwtTokenVerifier } from './jwt-token-verifier.js';
import type { SubjectTokenValidator } from './subject-token-validator.js';
import { TokenTypes } from '../oauth/token-types.js';
import type { ValidatedToken, ValidationContext } from './validated-token.js';

/**
 * `urn:ietf:params:oauth:token-type:jwt`: a JWT addressed to actbridge (or to the presenting client).
 * Accepts untyped, `JWT` and `at+jwt` tokens; any other explicit type (ID-JAG, DPoP proof, logout
 * token, client assertion, ...) is a different kind of JWT and is refused.
 */
@Injectable()
export class JwtValidator implements SubjectTokenValidator {
  readonly tokenType = TokenTypes.jwt;

  constructor(private readonly verifier: JwtTokenVerifier) {}

  validate(token: string, context: ValidationContext): Promise<ValidatedToken> {
    return this.verifier.verify(token, context, {
      tokenType: this.tokenType,
      acceptedTyp: () => ['', 'jwt', 'at+jwt'],
      acceptedAudiences,
    });
  }
}
