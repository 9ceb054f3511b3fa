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
