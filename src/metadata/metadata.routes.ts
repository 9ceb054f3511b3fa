import { Inject, Injectable } from '@nestjs/common';
import type { HttpRoute, RouteProvider } from '../http/http-route.js';
import { CLIENT_AUTH_METHODS } from '../clients/client.config.js';
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
  REVOCATION_LIST_PATH,
  TOKEN_ENDPOINT_PATH,
} from '../oauth/endpoint-paths.js';
import { SERVER_CONFIG, type ServerConfig } from '../config/server-config.js';

/**
 * Authorization server metadata (RFC 8414), also served at the OpenID Connect discovery location so
 * that OIDC-only tooling (openid-client's default) finds it. actbridge has no authorization endpoint:
 * response_types_supported is empty, truthfully.
 */
@Injectable()
export class MetadataRoutes implements RouteProvider {
  private readonly document: Readonly<Record<string, unknown>>;

  constructor(@Inject(SERVER_CONFIG) server: ServerConfig, dispatcher: GrantDispatcher, dpop: DpopVerifier) {
    const { issuer } = server;
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
      // actbridge's signed list of revoked jtis for resource servers (docs/lineage.md); not a registered name.
      revocation_list_uri: endpointUrl(issuer, REVOCATION_LIST_PATH),
    };
  }

  routes(): HttpRoute[] {
    const headers = { 'cache-control': 'public, max-age=300' };
    const handle = () => this.document;
    return [
      { name: 'metadata', method: 'GET', path: OAUTH_METADATA_PATH, headers, handle },
      { name: 'metadata', method: 'GET', path: OIDC_METADATA_PATH, headers, handle },
    ];
  }
}
