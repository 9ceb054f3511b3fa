/**
 * A failed request to an anchor's endpoint. `message` says what failed without saying where, so it may
 * reach a caller's `error_description`; `url` is for the operator's log line only.
 */
export class UpstreamFailure extends Error {
  override readonly name = 'UpstreamFailure';

  constructor(
    message: string,
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A fetch that threw (timeout, refused, DNS, TLS): `fetch failed` alone names no cause. */
export function fetchFailure(url: URL | string, error: unknown, timeoutMs: number): UpstreamFailure {
  const href = typeof url === 'string' ? url : url.href;
  const message =
    (error as Error | undefined)?.name === 'TimeoutError'
      ? `timed out after ${timeoutMs} ms`
      : `unreachable (${rootCause(error)})`;
  return new UpstreamFailure(message, href, { cause: error });
}

/** For a log line: the URL when known, then what failed. */
export function describeForOperator(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return error instanceof UpstreamFailure ? `${error.url}: ${message}` : message;
}

/** The innermost cause: its message and code (ECONNREFUSED, ENOTFOUND, ...), and an HTTP status if any. */
export function rootCause(error: unknown): string {
  let message = 'unknown error';
  let code: string | undefined;
  let status: number | undefined;
  let current = error as { cause?: unknown; code?: unknown; message?: unknown; status?: unknown } | undefined;
  for (let depth = 0; current && typeof current === 'object' && depth < 5; depth++) {
    if (typeof current.status === 'number') status = current.status; // a Response, as openid-client attaches it
    if (typeof current.message === 'string' && current.message && current.message !== 'fetch failed') {
      message = current.message;
      code = typeof current.code === 'string' ? current.code : undefined;
    }
    current = current.cause as typeof current;
  }
  return `${message}${code && !message.includes(code) ? ` (${code})` : ''}${status ? ` (HTTP ${status})` : ''}`;
}
