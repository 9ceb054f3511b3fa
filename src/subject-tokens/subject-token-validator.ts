import type { ValidatedToken, ValidationContext } from './validated-token.js';

/**
 * Validates one token type (RFC 8693 §2.1: "appropriate to the indicated type"), for subject and actor
 * tokens alike. Adding a format is one class implementing this plus one line in SUBJECT_TOKEN_VALIDATORS.
 */
export interface SubjectTokenValidator {
  /** The token type URI this validator handles. */
  readonly tokenType: string;
  /** false: a type recognised only to be refused with its own explanation (saml1); never listed as supported. */
  readonly accepts?: false;
  /** Resolves with the validated token, or throws an OAuthError (invalid_request, RFC 8693 §2.2.2). */
  validate(token: string, context: ValidationContext): Promise<ValidatedToken>;
}

export const SUBJECT_TOKEN_VALIDATORS = Symbol('SUBJECT_TOKEN_VALIDATORS');
