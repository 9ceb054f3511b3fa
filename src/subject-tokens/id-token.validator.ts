import { Injectable } from '@nestjs/common';
import { clientIdsAtIssuer } from './audiences.js';
import { JwtRulesValidator, type JwtTypeRules } from './jwt-token-verifier.js';
import { TokenTypes } from '../oauth/token-types.js';

/**
 * `urn:ietf:params:oauth:token-type:id_token`: an OpenID Connect ID Token. An ID token is addressed to
 * the relying party that received it, so its `aud` must be the presenting client's id *at that issuer*
 * (the anchor's `client_ids` entry, else its client_id), never merely actbridge: a client cannot
 * exchange an ID token issued to another client (the same rule ID-JAG §4.3.3 states). `azp`, when
 * present (and required with several audiences), must be that id too. Only from anchors whose
 * `token_types` include id_token; never from actbridge itself, which issues no ID tokens.
 */
@Injectable()
export class IdTokenValidator extends JwtRulesValidator {
  protected readonly rules: JwtTypeRules = {
    tokenType: TokenTypes.idToken,
    acceptedTyp: (anchor) => (anchor.self ? [] : ['', 'jwt']),
    // OIDC Core §2: iss, sub, aud, exp and iat are REQUIRED in an ID token.
    requiredClaims: ['iat'],
    acceptedAudiences: (anchor, client) => clientIdsAtIssuer(anchor, client),
    audienceRefusal: (client) => `audience is not accepted: an ID token must be issued to client ${client.client_id}`,
    check: (claims, client, fail, anchor) => {
      const names = clientIdsAtIssuer(anchor, client);
      // OIDC Core §3.1.3.7: with several audiences, azp says which party the token was issued to.
      if (Array.isArray(claims.aud) && claims.aud.length > 1 && claims.azp === undefined) {
        fail('has several audiences and no azp claim');
      }
      if (claims.azp !== undefined && (typeof claims.azp !== 'string' || !names.includes(claims.azp))) {
        fail(`azp does not name client ${client.client_id}`);
      }
    },
  };
}
