import { Injectable } from '@nestjs/common';
import { InvalidRequest } from '../oauth/oauth-error.js';
import type { SubjectTokenValidator } from './subject-token-validator.js';
import { tokenParameter } from '../oauth/token-rejection.js';
import { TokenTypes } from '../oauth/token-types.js';
import type { ValidatedToken, ValidationContext } from './validated-token.js';

/**
 * `urn:ietf:params:oauth:token-type:saml1` (RFC 8693 §3): recognised, and refused with a clear error.
 * SAML 1.1 is long superseded; supporting it would double the XML attack surface for no current IdP.
 */
@Injectable()
export class Saml1Validator implements SubjectTokenValidator {
  readonly tokenType = TokenTypes.saml1;
  readonly accepts = false;

  validate(_token: string, context: ValidationContext): Promise<ValidatedToken> {
    return Promise.reject(
      new InvalidRequest(
        `saml1 is not supported as ${tokenParameter(context.role)}_type; present a SAML 2.0 assertion as ${TokenTypes.saml2}`,
      ),
    );
  }
}
