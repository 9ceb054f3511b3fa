import { Injectable } from '@nestjs/common';
import { acceptedAudiences } from './audiences.js';
import { JwtTokenVerifier, normaliseTyp } from './jwt-token-verifier.js';
import type { SubjectTokenValidator } from './subject-token-validator.js';
import { TokenTypes } from './token-types.js';
import type { ValidatedToken, ValidationContext } from './validated-token.js';

/**
 * `urn:ietf:params:oauth:token-type:access_token`: a JWT access token (RFC 9068). Its `typ` must be
 * `at+jwt`, or one the anchor lists in `access_token_typ`, so an ID token cannot pass as one.
 */
@Injectable()
export class AccessTokenValidator implements SubjectTokenValidator {
  readonly tokenType = TokenTypes.accessToken;

  constructor(private readonly verifier: JwtTokenVerifier) {}

  validate(token: string, context: ValidationContext): Promise<ValidatedToken> {
    return this.verifier.verify(token, context, {
      tokenType: this.tokenType,
      acceptedTyp: (anchor) => anchor.accessTokenTyp.map((typ) => normaliseTyp(typ) ?? typ),
      acceptedAudiences,
    });
  }
}
