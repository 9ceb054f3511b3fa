/** The verifier's options this module checks (ActbridgeVerifierOptions, structurally). */
interface CheckedOptions {
  readonly issuer: string;
  readonly timeout?: number;
  readonly clockTolerance?: number;
  readonly dpopMaxAge?: number;
  readonly revocationList?: boolean | { readonly refreshInterval?: number; readonly maxStaleness?: number };
  readonly dpopNonce?: { readonly secret?: unknown; readonly window?: number };
}

/** Seconds: the bounds of each numeric option (a timer beyond 2^31-1 ms fires at once in Node). */
const SECOND_BOUNDS = {
  timeout: [0.1, 600],
  clockTolerance: [0, 300],
  dpopMaxAge: [1, 3600],
  refreshInterval: [0.1, 86_400],
  maxStaleness: [1, 30 * 86_400],
  'dpopNonce.window': [10, 3600],
} as const;

/** The least key material of a DPoP nonce secret (an HMAC-SHA-256 key: RFC 2104 §3, no shorter than its output). */
const MIN_NONCE_SECRET_BYTES = 32;

/** Refuses an option the verifier would misuse silently (a negative skew, a timer that fires every millisecond). */
export function checkOptions(options: CheckedOptions): void {
  if (typeof options.issuer !== 'string' || !URL.canParse(options.issuer)) {
    throw new TypeError('ActbridgeVerifier: issuer must be a URL');
  }
  const list = typeof options.revocationList === 'object' ? options.revocationList : {};
  if (options.dpopNonce !== undefined) {
    const { secret } = options.dpopNonce;
    const bytes =
      typeof secret === 'string' ? Buffer.byteLength(secret) : secret instanceof Uint8Array ? secret.length : 0;
    if (bytes < MIN_NONCE_SECRET_BYTES) {
      throw new TypeError(
        `ActbridgeVerifier: dpopNonce.secret must be a string or bytes of at least ${MIN_NONCE_SECRET_BYTES} bytes`,
      );
    }
  }
  const given: Record<keyof typeof SECOND_BOUNDS, number | undefined> = {
    timeout: options.timeout,
    clockTolerance: options.clockTolerance,
    dpopMaxAge: options.dpopMaxAge,
    refreshInterval: list.refreshInterval,
    maxStaleness: list.maxStaleness,
    'dpopNonce.window': options.dpopNonce?.window,
  };
  for (const [name, value] of Object.entries(given)) {
    if (value === undefined) continue;
    const [min, max] = SECOND_BOUNDS[name as keyof typeof SECOND_BOUNDS];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      throw new TypeError(`ActbridgeVerifier: ${name} must be a number of seconds from ${min} to ${max}`);
    }
  }
}
