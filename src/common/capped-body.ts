/** The response body is larger than the cap (declared by Content-Length, or counted while streaming). */
export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

/** Reading the body failed midway: timed out, or the connection was lost. */
export class BodyReadError extends Error {
  override readonly name = 'BodyReadError';
}

/**
 * Reads a response body of at most `maxBytes`, counting bytes as they arrive: a chunked body has no
 * Content-Length, so the cap must cut it off mid-stream rather than after buffering. The fetch's
 * timeout signal also bounds this read (a server that sends headers and then stalls). `what` names the
 * document in error messages ("JWKS", "metadata", ...).
 */
export async function readCappedBody(
  response: Response,
  maxBytes: number,
  timeoutMs: number,
  what: string,
): Promise<Buffer> {
  const tooLarge = () => new BodyTooLargeError(`${what} larger than ${maxBytes} bytes`);
  if (Number(response.headers.get('content-length') ?? '0') > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!response.body) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge();
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw error;
    throw new BodyReadError(
      (error as Error).name === 'TimeoutError'
        ? `timed out after ${timeoutMs} ms`
        : `connection lost (${(error as Error).message})`,
    );
  }
  return Buffer.concat(chunks);
}

/**
 * fetch with the body read under `maxBytes` (readCappedBody), for a client library that reads whole
 * bodies (openid-client's customFetch): the request goes out as the library made it (method, headers,
 * `redirect: 'manual'`, its timeout signal); a larger body rejects with BodyTooLargeError.
 */
export function cappedFetch(
  maxBytes: number,
  timeoutMs: number,
  what: string,
): (url: string, options: RequestInit) => Promise<Response> {
  return async (url, options) => {
    const response = await fetch(url, options);
    if (!response.body) return response;
    const body = await readCappedBody(response, maxBytes, timeoutMs, what);
    return new Response(new Uint8Array(body), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}
