/** Token type identifiers (RFC 8693 §3, RFC 7519 §9). */
export const TokenTypes = {
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
  accessToken: 'urn:ietf:params:oauth:token-type:access_token',
  idToken: 'urn:ietf:params:oauth:token-type:id_token',
  refreshToken: 'urn:ietf:params:oauth:token-type:refresh_token',
  saml1: 'urn:ietf:params:oauth:token-type:saml1',
  saml2: 'urn:ietf:params:oauth:token-type:saml2',
  idJag: 'urn:ietf:params:oauth:token-type:id-jag',
} as const;

/**
 * Short names for token types in configuration (a trust anchor's `token_types`), each the last segment
 * of its URI. Only the ones actbridge can accept as presented tokens.
 */
export const TOKEN_TYPE_NAMES: Readonly<Record<string, string>> = {
  jwt: TokenTypes.jwt,
  access_token: TokenTypes.accessToken,
  id_token: TokenTypes.idToken,
  saml2: TokenTypes.saml2,
  'id-jag': TokenTypes.idJag,
};

/** What an OIDC trust anchor issues unless its file says otherwise (`token_types`). */
export const DEFAULT_ANCHOR_TOKEN_TYPES = ['access_token', 'id_token', 'jwt'];

/** The short configuration name of a token type URI (`urn:...:id_token` → `id_token`). */
export function tokenTypeName(uri: string): string {
  return Object.entries(TOKEN_TYPE_NAMES).find(([, u]) => u === uri)?.[0] ?? uri;
}
