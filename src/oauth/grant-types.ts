/** The grant types actbridge implements (RFC 8693, RFC 7523, RFC 7522). */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** RFC 7523 §2.1: JWT authorization grant (also how an ID-JAG is redeemed). */
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export const SAML2_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:saml2-bearer';

/** Grant types a client may be registered for (the ones actbridge implements). */
export const SUPPORTED_GRANT_TYPES = [TOKEN_EXCHANGE_GRANT, JWT_BEARER_GRANT, SAML2_BEARER_GRANT] as const;
