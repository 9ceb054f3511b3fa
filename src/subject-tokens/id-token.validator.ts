import { Injectable } from '@nestjs/common';
import type { ClientConfig } from '../clients/client.config.js';
import { JwtTokenVerifier } from './jwt-token-verifier.js';
import type { SubjectTokenValidator } from './subject-token-validator.js';
import { TokenTypes } from './token-types.js';
import type { ValidatedToken, ValidationContext } from './validated-token.js';

/**
 * `urn:ietf:params:oauth:token-type:id_token`: an OpenID Connect ID Token. An ID token is addressed to
 * the relying party that received it, so its `aud` must name the presenting client (its client_id or a
 * recipient_id), never merely actbridge: a client cannot exchange an ID token issued to another client
 * (the same rule ID-JAG §4.3.3 states). `azp`, when present or needed, must name the client too.
 * Never accepted from actbridge itself, which issues no ID tokens.
 */
@Injectable()
export class IdTokenValidator implements SubjectTokenValidator {
  readonly tokenType = TokenTypes.idToken;

  constructor(private readonly verifier: JwtTokenVerifier) {}

  validate(token: string, context: ValidationContext): Promise<ValidatedToken> {
    return this.verifier.verify(token, context, {
      tokenType: this.tokenType,
      acceptedTyp: (anchor) => (anchor.self ? [] : ['', 'jwt']),
      acceptedAudiences: (_anchor, client) => clientNames(client),
      check: (claims, client, fail) => {
        const names = clientNames(client);
        // OIDC Core §3.1.3.7: with several audiences, azp says which party the token was issued to.
        if (Array.isArray(claims.aud) && claims.aud.length > 1 && claims.azp === undefined) {
          fail('has several audiences and no azp claim');
        }
        if (claims.azp !== undefined && (typeof claims.azp !== 'string' || !names.includes(claims.azp))) {
          fail(`azp does not name client ${client.client_id}`);
        }
      },
    });
  }
}

function clientNames(client: ClientConfig): string[] {
  return [client.client_id, ...client.recipient_ids];
}
