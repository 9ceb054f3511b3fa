import { Inject, Injectable } from '@nestjs/common';
import { InvalidRequest } from '../oauth/oauth-error.js';
import { inSpan } from '../observability/tracing.js';
import { SUBJECT_TOKEN_VALIDATORS, type SubjectTokenValidator } from './subject-token-validator.js';
import { tokenParameter } from '../oauth/token-rejection.js';
import type { ValidatedToken, ValidationContext } from './validated-token.js';

/** Dispatches a presented token to the validator of its declared type. */
@Injectable()
export class SubjectTokenValidators {
  private readonly byType: ReadonlyMap<string, SubjectTokenValidator>;

  constructor(@Inject(SUBJECT_TOKEN_VALIDATORS) validators: SubjectTokenValidator[]) {
    this.byType = new Map(validators.map((v) => [v.tokenType, v]));
  }

  get supportedTypes(): string[] {
    return [...this.byType.keys()];
  }

  /** The types a token can be accepted as (a refusal lists these; saml1 is recognised only to be refused). */
  get acceptedTypes(): string[] {
    return [...this.byType.values()].filter((v) => v.accepts !== false).map((v) => v.tokenType);
  }

  async validate(tokenType: string, token: string, context: ValidationContext): Promise<ValidatedToken> {
    const validator = this.byType.get(tokenType);
    if (!validator) {
      const param = `${tokenParameter(context.role)}_type`;
      throw new InvalidRequest(`unsupported ${param}; supported: ${this.acceptedTypes.join(', ')}`, {
        detail: `unsupported ${param} ${JSON.stringify(tokenType.slice(0, 200))}`,
      });
    }
    return inSpan(`validate ${context.role}`, 'token_validation', () => validator.validate(token, context), {
      'actbridge.token_type': tokenType,
    });
  }
}
