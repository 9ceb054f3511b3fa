/**
 * The OAuth error family (RFC 6749 §5.2, RFC 8693 §2.2.2, RFC 8707 §2).
 *
 * Code anywhere below the controller throws one of these; the exception filter is the only place that
 * turns them into HTTP responses. `description` goes to the caller; `detail` is for operators only
 * (logged and written to the audit line, never sent), following oidc-provider's `expose` rule.
 */
export interface OAuthErrorOptions {
  /** Internal detail for logs and audit; never sent to the caller. Must not contain tokens or secrets. */
  readonly detail?: string;
  readonly cause?: unknown;
  /** Override of the HTTP status, for the few errors whose status is not the code's default. */
  readonly status?: number;
  /** Extra response headers (e.g. `WWW-Authenticate`, `Allow`). */
  readonly headers?: Readonly<Record<string, string>>;
}

export class OAuthError extends Error {
  readonly status: number;
  readonly detail: string | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly error: string,
    readonly description: string,
    options: OAuthErrorOptions & { status: number },
  ) {
    super(`${error}: ${description}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
    this.detail = options.detail;
    this.headers = options.headers ?? {};
  }
}

type OAuthErrorClass = new (description: string, options?: OAuthErrorOptions) => OAuthError;

const CODES = new Set<string>();
/** Every error code of the table below (metrics label only these; anything else is `other`). */
export const OAUTH_ERROR_CODES: ReadonlySet<string> = CODES;

/**
 * One class per error code, so `instanceof InvalidTarget` reads as what it is; named after the code
 * (`invalid_target`: InvalidTarget). RFC 6749 §5.2: 400 unless the code says otherwise.
 */
function oauthErrorClass(code: string, defaultStatus = 400): OAuthErrorClass {
  CODES.add(code);
  const cls = class extends OAuthError {
    constructor(description: string, options: OAuthErrorOptions = {}) {
      super(code, description, { ...options, status: options.status ?? defaultStatus });
    }
  };
  const name = code.replace(/(?:^|_)([a-z])/g, (_, letter: string) => letter.toUpperCase());
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}

export const InvalidRequest = oauthErrorClass('invalid_request');
// RFC 6749 §5.2: 401 is the status for invalid_client (and MUST be when Basic was used; the filter then
// adds WWW-Authenticate).
export const InvalidClient = oauthErrorClass('invalid_client', 401);
export const InvalidGrant = oauthErrorClass('invalid_grant');
export const UnauthorizedClient = oauthErrorClass('unauthorized_client');
export const UnsupportedGrantType = oauthErrorClass('unsupported_grant_type');
export const InvalidScope = oauthErrorClass('invalid_scope');
export const InvalidTarget = oauthErrorClass('invalid_target');
/** RFC 7009 §2.2.1: the revocation endpoint cannot revoke tokens of the presented type. */
export const UnsupportedTokenType = oauthErrorClass('unsupported_token_type');
export const ServerError = oauthErrorClass('server_error', 500);
/** Not an OAuth code of RFC 6749; used for unknown routes so every response body has the same shape. */
export const NotFound = oauthErrorClass('not_found', 404);
/** A dependency actbridge needs to decide safely (e.g. the replay store) is down: fail closed, say so. */
export const TemporarilyUnavailable = oauthErrorClass('temporarily_unavailable', 503);
/** RFC 9449 §5: the DPoP proof at the token endpoint is missing where required, or invalid. */
export const InvalidDpopProof = oauthErrorClass('invalid_dpop_proof');
/** RFC 9449 §8: the proof must carry the server nonce sent in the `DPoP-Nonce` header. */
export const UseDpopNonce = oauthErrorClass('use_dpop_nonce');
