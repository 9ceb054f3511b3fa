import { Controller, Get, Header, Inject } from '@nestjs/common';
import { CLIENT_AUTH_METHODS } from '../clients/client.config.js';
import { STS_CONFIG, type StsConfig } from '../config/sts-config.js';
import { ID_JAG_GRANT_PROFILE } from '../id-jag/id-jag.js';
import { TokenTypes } from '../oauth/token-types.js';
import { DpopVerifier } from '../dpop/dpop-verifier.js';
import { GrantDispatcher } from '../token-endpoint/grant-dispatcher.js';
import { ASYMMETRIC_ALGORITHMS } from '../trust-anchors/trust-anchor.config.js';
import {
  endpointUrl,
  INTROSPECTION_ENDPOINT_PATH,
  JWKS_PATH,
  OAUTH_METADATA_PATH,
  OIDC_METADATA_PATH,
  REVOCATION_ENDPOINT_PATH,
  TOKEN_ENDPOINT_PATH,
} from '../oauth/endpoint-paths.js';

/**
 * Authorization server metadata (RFC 8414), also served at the OpenID Connect discovery location so
 * that OIDC-only tooling (openid-client's default) finds it. actbridge has no authorization endpoint:
 * response_types_supported is empty, truthfully.
 */
@Controller()
export class MetadataController {
  private readonly document: Readonly<Record<string, unknown>>;

  constructor(@Inject(STS_CONFIG) config: StsConfig, dispatcher: GrantDispatcher, dpop: DpopVerifier) {
    const { issuer } = config.server;
    this.document = {
      issuer,
      token_endpoint: endpointUrl(issuer, TOKEN_ENDPOINT_PATH),
      jwks_uri: endpointUrl(issuer, JWKS_PATH),
      grant_types_supported: dispatcher.grantTypes,
      response_types_supported: [],
      token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
      token_endpoint_auth_signing_alg_values_supported: [...ASYMMETRIC_ALGORITHMS],
      // ID-JAG §7 (IdP role; the parameter comes from draft-ietf-oauth-identity-chaining).
      identity_chaining_requested_token_types_supported: [TokenTypes.idJag],
      // ID-JAG §8 (resource-AS role; needs jwt-bearer in grant_types_supported). Names no issuers.
      authorization_grant_profiles_supported: [ID_JAG_GRANT_PROFILE],
      // RFC 9449 §5.1.
      dpop_signing_alg_values_supported: dpop.algorithms,
      // RFC 7662 / RFC 7009 (RFC 8414 §2): same client authentication as the token endpoint.
      introspection_endpoint: endpointUrl(issuer, INTROSPECTION_ENDPOINT_PATH),
      introspection_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
      introspection_endpoint_auth_signing_alg_values_supported: [...ASYMMETRIC_ALGORITHMS],
      revocation_endpoint: endpointUrl(issuer, REVOCATION_ENDPOINT_PATH),
      revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
      revocation_endpoint_auth_signing_alg_values_supported: [...ASYMMETRIC_ALGORITHMS],
    };
  }

  @Get(OAUTH_METADATA_PATH)
  @Header('cache-control', 'public, max-age=300')
  oauthMetadata(): Readonly<Record<string, unknown>> {
    return this.document;
  }

  @Get(OIDC_METADATA_PATH)
  @Header('cache-control', 'public, max-age=300')
  openidConfiguration(): Readonly<Record<string, unknown>> {
    return this.document;
  }
}
