import { errorDescription } from '../oauth/error-description.js';

/**
 * Why a resource request's access token was refused, as RFC 6750 §3.1 / RFC 9449 §7.1 error codes,
 * with the HTTP status and `WWW-Authenticate` challenge a resource server answers with.
 */
export type AccessTokenErrorCode =
  | 'invalid_request'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'insufficient_user_authentication'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'temporarily_unavailable';

const STATUS: Record<AccessTokenErrorCode, number> = {
  invalid_request: 400,
  invalid_token: 401,
  insufficient_scope: 403,
  // RFC 9470 §3: the token is fine, the login behind it is not (too weak or too old).
  insufficient_user_authentication: 401,
  invalid_dpop_proof: 401,
  // RFC 9449 §9: the proof must carry the resource server's nonce, which the DPoP-Nonce header gives.
  use_dpop_nonce: 401,
  // Not an RFC 6750 code: actbridge (discovery, JWKS or introspection) could not be reached, so the
  // token cannot be judged. Fail closed, and say so.
  temporarily_unavailable: 503,
};

export interface ChallengeOptions {
  /** Which scheme the challenge names: DPoP when the request used it or the token is bound. */
  readonly dpop?: boolean;
  readonly realm?: string;
  /** RFC 9728 §5.1: where the resource's Protected Resource Metadata lives. */
  readonly resourceMetadata?: string;
  /** RFC 9449 §7.1 `algs`: the DPoP proof algorithms the resource accepts. */
  readonly dpopAlgorithms?: readonly string[];
}

export class AccessTokenError extends Error {
  override readonly name = 'AccessTokenError';
  readonly status: number;

  constructor(
    readonly error: AccessTokenErrorCode,
    readonly description: string,
    /** For insufficient_scope: the scope the request needs (RFC 6750 §3). */
    readonly scope?: string,
    /** For the resource server's log, never the caller: why actbridge could not be heard (hosts, causes). */
    readonly detail?: string,
    /** The token is DPoP-bound but came as Bearer: the challenge offers the DPoP scheme as well. */
    readonly dpopRequired = false,
    /** For insufficient_user_authentication: what would do (RFC 9470 §3 `acr_values`, `max_age`). */
    readonly stepUp?: { readonly acrValues?: string; readonly maxAge?: number },
    /** For use_dpop_nonce: the nonce the next proof must carry, sent as the `DPoP-Nonce` header (RFC 9449 §9). */
    readonly dpopNonce?: string,
  ) {
    super(`${error}: ${description}`);
    this.status = STATUS[error];
  }

  /** The `WWW-Authenticate` header value for this refusal. */
  challenge(options: ChallengeOptions = {}): string {
    return authenticateChallenge(options, this);
  }

  /** The JSON body: `{error, error_description}` (RFC 6749 §5.2's characters). */
  toJSON(): { error: string; error_description: string } {
    return { error: this.error, error_description: errorDescription(this.description) };
  }
}

/**
 * A `WWW-Authenticate` value (RFC 6750 §3, RFC 9449 §7.1, RFC 9728 §5.1). Without an error (no
 * credentials presented) it offers both schemes, with no error code (RFC 6750 §3.1).
 */
export function authenticateChallenge(options: ChallengeOptions, error?: AccessTokenError): string {
  const params = (extra: Array<[string, string | undefined]>): string =>
    [['realm', options.realm], ...extra, ['resource_metadata', options.resourceMetadata]]
      .filter((p): p is [string, string] => p[1] !== undefined)
      .map(([name, value]) => `${name}="${value.replace(/["\\]/g, '')}"`)
      .join(', ');
  const algs: [string, string | undefined] = ['algs', options.dpopAlgorithms?.join(' ')];
  if (!error || error.error === 'temporarily_unavailable') {
    return [`Bearer ${params([])}`.trim(), `DPoP ${params([algs])}`.trim()].join(', ');
  }
  const errorParams: Array<[string, string | undefined]> = [
    ['error', error.error],
    // RFC 6750 §3: the description in the challenge keeps to the same characters as in a body.
    ['error_description', errorDescription(error.description)],
    ['scope', error.scope],
    ['acr_values', error.stepUp?.acrValues],
    ['max_age', error.stepUp?.maxAge?.toString()],
  ];
  if (options.dpop || error.error === 'invalid_dpop_proof' || error.error === 'use_dpop_nonce') {
    return `DPoP ${params([...errorParams, algs])}`;
  }
  // RFC 9449 §7.2: a client may send a DPoP-bound token as Bearer upon a Bearer-only challenge; the refusal
  // of one (a downgrade) also challenges with DPoP, so the client learns which scheme to use.
  if (error.dpopRequired) return `Bearer ${params(errorParams)}, DPoP ${params([algs])}`;
  return `Bearer ${params(errorParams)}`;
}
