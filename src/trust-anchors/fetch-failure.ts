/**
 * A fetch that threw (timeout, refused, DNS, TLS), for logs and audit reasons only: it names the URL and
 * the root cause, since `fetch failed` alone names neither. Callers are told only which keys are missing.
 */
export function fetchFailure(url: URL | string, error: unknown, timeoutMs: number): Error {
  const href = typeof url === 'string' ? url : url.href;
  const what =
    (error as Error | undefined)?.name === 'TimeoutError'
      ? `timed out after ${timeoutMs} ms`
      : `unreachable (${rootCause(error)})`;
  return new Error(`${href}: ${what}`, { cause: error });
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
