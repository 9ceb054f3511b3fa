import type { ServerConfig } from '../config/server-config.js';

/** How often Node looks for requests past their headers or request timeout, milliseconds. */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

/**
 * Fastify server options bounding how long a client may hold a connection. Node's own defaults are
 * switched off by Fastify (request timeout 0) or long (72 s keep-alive); these come from the
 * environment instead. A client past HEADERS_TIMEOUT_MS or REQUEST_TIMEOUT_MS is answered 408 by
 * answerHttpClientError; an idle keep-alive connection is closed after KEEP_ALIVE_TIMEOUT_MS.
 */
export function httpTimeoutOptions(
  server: Pick<ServerConfig, 'requestTimeoutMs' | 'headersTimeoutMs' | 'keepAliveTimeoutMs'>,
): {
  requestTimeout: number;
  keepAliveTimeout: number;
  http: { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number };
  return503OnClosing: false;
} {
  return {
    requestTimeout: server.requestTimeoutMs,
    keepAliveTimeout: server.keepAliveTimeoutMs,
    // Passed to http.createServer, which checks headersTimeout <= requestTimeout; the interval sets how
    // late past its deadline a slow client may be cut (Node's default is 30 s).
    http: {
      headersTimeout: server.headersTimeoutMs,
      requestTimeout: server.requestTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
    // Requests arriving during a drain are refused by the drain hook, which audits them like any
    // refusal; Fastify's own 503 would not.
    return503OnClosing: false,
  };
}
