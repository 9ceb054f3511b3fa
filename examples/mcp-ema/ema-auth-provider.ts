import {
  discoverOAuthProtectedResourceMetadata,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
} from '@modelcontextprotocol/sdk/client/auth.js';
import type {
  AuthorizationServerMetadata,
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';

/**
 * An MCP client's token provider for Enterprise-Managed Authorization
 * (io.modelcontextprotocol/enterprise-managed-authorization), plugged into the official SDK's
 * StreamableHTTPClientTransport as its `authProvider`. When the MCP server answers 401, the SDK calls
 * it; it then
 *   1. reads the server's RFC 9728 metadata: its resource identifier and its authorization server;
 *   2. exchanges the user's identity assertion (ID token or SAML assertion from the enterprise SSO) at
 *      the enterprise IdP for an ID-JAG naming that authorization server and resource (EMA §4);
 *   3. hands the SDK a jwt-bearer request with the ID-JAG (EMA §5), which the SDK sends to the
 *      authorization server with this client's credentials there and the `resource`.
 * The SDK has no ID-JAG client of its own; this is the custom provider its auth() supports through
 * `prepareTokenRequest` and `discoveryState`.
 */

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const ID_JAG_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id-jag';
export const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';
export const SAML2_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:saml2';

/** What the enterprise SSO gave the client at sign-in (EMA §3). */
export interface IdentityAssertion {
  /** An ID token, or a SAML assertion base64url-encoded. */
  readonly token: string;
  readonly type: typeof ID_TOKEN_TYPE | typeof SAML2_TOKEN_TYPE;
}

/** A server this client is registered at, and its credentials there (client_secret_basic). */
export interface Registration {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface EnterpriseManagedAuthOptions {
  /** The MCP server's endpoint. */
  readonly serverUrl: string | URL;
  /** The enterprise IdP (actbridge in the IdP role) and this client's registration there. */
  readonly idp: Registration;
  /** The MCP server's authorization server and this client's registration there (EMA §6.1: pre-registered). */
  readonly authorizationServer: Registration;
  /** The current user's identity assertion. */
  readonly identityAssertion: () => IdentityAssertion | Promise<IdentityAssertion>;
  /** Scopes to ask for; without them the IdP grants all that its policy allows. */
  readonly scope?: string;
  readonly fetch?: FetchLike;
}

/** The enterprise IdP refused the ID-JAG request: its RFC 6749 §5.2 error, as sent. */
export class IdJagRequestError extends Error {
  override readonly name = 'IdJagRequestError';

  constructor(
    readonly status: number,
    readonly error: string,
    readonly errorDescription: string | undefined,
  ) {
    super(`the enterprise IdP refused the ID-JAG request: ${error}${errorDescription ? `: ${errorDescription}` : ''}`);
  }
}

export class EnterpriseManagedAuthProvider implements OAuthClientProvider {
  private saved: OAuthTokens | undefined;
  private discovery: OAuthDiscoveryState | undefined;
  private idpTokenEndpoint: string | undefined;
  private readonly fetch: FetchLike;

  constructor(private readonly options: EnterpriseManagedAuthOptions) {
    this.fetch = options.fetch ?? fetch;
  }

  /** Non-interactive: the user already signed in at the enterprise SSO, and there is no consent screen. */
  get redirectUrl(): undefined {
    return undefined;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      redirect_uris: [],
      grant_types: [JWT_BEARER_GRANT],
      token_endpoint_auth_method: 'client_secret_basic',
      client_name: this.options.authorizationServer.clientId,
      ...(this.options.scope ? { scope: this.options.scope } : {}),
    };
  }

  /** Pre-registered, and stamped with the authorization server so the SDK sends it to no other. */
  clientInformation(): OAuthClientInformationMixed {
    const { clientId, clientSecret, issuer } = this.options.authorizationServer;
    return { client_id: clientId, client_secret: clientSecret, issuer };
  }

  tokens(): OAuthTokens | undefined {
    return this.saved;
  }

  saveTokens(tokens: OAuthTokens): void {
    this.saved = tokens;
  }

  redirectToAuthorization(): never {
    throw new Error('Enterprise-Managed Authorization does not redirect: the grant comes from the enterprise IdP');
  }

  saveCodeVerifier(): void {}

  codeVerifier(): never {
    throw new Error('Enterprise-Managed Authorization has no authorization code');
  }

  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    if (scope === 'all' || scope === 'tokens') this.saved = undefined;
    if (scope === 'all' || scope === 'discovery') this.discovery = undefined;
  }

  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.discovery = state;
  }

  /**
   * Discovery done here rather than by the SDK: its RFC 8414 schema requires `authorization_endpoint`,
   * which an authorization server without the authorization-code flow does not have (RFC 8414 §2 makes
   * it REQUIRED only when such a grant is supported).
   */
  async discoveryState(): Promise<OAuthDiscoveryState> {
    this.discovery ??= await this.discover();
    return this.discovery;
  }

  /** EMA §4 then §5: an ID-JAG from the enterprise IdP, presented as a jwt-bearer grant. */
  async prepareTokenRequest(): Promise<URLSearchParams> {
    const { resourceMetadata, authorizationServerMetadata } = await this.discoveryState();
    if (!resourceMetadata || !authorizationServerMetadata) throw new Error('discovery is incomplete');
    const idJag = await this.requestIdJag(authorizationServerMetadata.issuer, resourceMetadata.resource);
    return new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion: idJag });
  }

  private async discover(): Promise<OAuthDiscoveryState> {
    // RFC 9728: the MCP server says what it is (resource) and who issues its tokens.
    const resourceMetadata = await discoverOAuthProtectedResourceMetadata(this.options.serverUrl, {}, this.fetch);
    const expected = this.options.authorizationServer.issuer;
    if (!resourceMetadata.authorization_servers?.includes(expected)) {
      throw new Error(
        `the MCP server's authorization servers are ${JSON.stringify(resourceMetadata.authorization_servers ?? [])}; this client is registered at ${expected}`,
      );
    }
    const authorizationServerMetadata = await this.serverMetadata(expected);
    return { authorizationServerUrl: expected, resourceMetadata, authorizationServerMetadata };
  }

  /** EMA §4: token exchange at the enterprise IdP, audience = the authorization server, resource = the MCP server. */
  private async requestIdJag(audience: string, resource: string): Promise<string> {
    this.idpTokenEndpoint ??= (await this.serverMetadata(this.options.idp.issuer)).token_endpoint;
    const assertion = await this.options.identityAssertion();
    const body = new URLSearchParams({
      grant_type: TOKEN_EXCHANGE_GRANT,
      requested_token_type: ID_JAG_TOKEN_TYPE,
      audience,
      resource,
      subject_token: assertion.token,
      subject_token_type: assertion.type,
      ...(this.options.scope ? { scope: this.options.scope } : {}),
    });
    const response = await this.fetch(this.idpTokenEndpoint, {
      method: 'POST',
      headers: {
        authorization: basic(this.options.idp.clientId, this.options.idp.clientSecret),
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body,
    });
    const json = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok) {
      throw new IdJagRequestError(
        response.status,
        typeof json.error === 'string' ? json.error : 'invalid_response',
        typeof json.error_description === 'string' ? json.error_description : undefined,
      );
    }
    // EMA §4.2: the ID-JAG comes back as access_token, typed id-jag, token_type N_A.
    if (
      json.issued_token_type !== ID_JAG_TOKEN_TYPE ||
      typeof json.token_type !== 'string' ||
      json.token_type.toUpperCase() !== 'N_A' ||
      typeof json.access_token !== 'string'
    ) {
      throw new Error('the enterprise IdP did not answer with an ID-JAG');
    }
    return json.access_token;
  }

  /** RFC 8414 metadata of `issuer`, whose `issuer` must be exactly the one asked for (§3.3). */
  private async serverMetadata(issuer: string): Promise<AuthorizationServerMetadata> {
    const url = new URL(issuer);
    const path = url.pathname === '/' ? '' : url.pathname;
    const response = await this.fetch(`${url.origin}/.well-known/oauth-authorization-server${path}`, {
      headers: { accept: 'application/json' },
    });
    if (!response.ok) throw new Error(`no RFC 8414 metadata for ${issuer} (HTTP ${response.status})`);
    const metadata = (await response.json()) as Record<string, unknown>;
    if (metadata.issuer !== issuer || typeof metadata.token_endpoint !== 'string') {
      throw new Error(`the RFC 8414 metadata of ${issuer} names another issuer or no token_endpoint`);
    }
    return metadata as unknown as AuthorizationServerMetadata;
  }
}

/** RFC 6749 §2.3.1: client_id and secret form-encoded, then Basic. */
function basic(clientId: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`;
}
