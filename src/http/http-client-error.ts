import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { HttpRefusal } from '../audit/audit-trail.js';
import { errorDescription } from '../oauth/error-description.js';

const timedOutSockets = new WeakSet<Socket>();

/**
 * Whether Node cut `socket` for not sending its request within HEADERS_TIMEOUT_MS / REQUEST_TIMEOUT_MS:
 * the handler of a request whose body was still arriving then sees the body aborted.
 */
export function requestTimedOut(socket: Socket | null | undefined): boolean {
  return socket ? timedOutSockets.has(socket) : false;
}

/**
 * Answers a request Node's HTTP parser rejected (bad framing, oversized headers) or cut for slowness
 * (headers or body not in within their timeout: 408) before Fastify or Nest could answer it, in the
 * same JSON shape as every other error, then closes the connection: after a framing error nothing else
 * on the socket can be trusted, and a slow client has had its time. Returns the refusal when no route
 * had the request (a request whose body was cut is audited by its route's exception filter).
 */
export function answerHttpClientError(error: Error & { code?: string }, socket: Socket): HttpRefusal | undefined {
  const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  if (timedOut) timedOutSockets.add(socket);
  // A response already under way (headers sent) cannot be replaced by another one.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return undefined;
  }
  const [status, description] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? ['431 Request Header Fields Too Large', 'request headers too large']
      : timedOut
        ? ['408 Request Timeout', 'request timed out']
        : ['400 Bad Request', 'malformed HTTP request'];
  const clientIp = socket.remoteAddress;
  endWithError(socket, status, description);
  if (inFlight) return undefined;
  return { status: Number.parseInt(status, 10), description, code: error.code ?? 'unknown', clientIp };
}

/**
 * RFC 9110 §9.1: CONNECT (a tunnel, §9.3.6) is a method no endpoint implements, so 501; Node, without a
 * `connect` listener, would close the socket unanswered and the refusal leave no audit line.
 */
export function answerConnect(request: IncomingMessage, socket: Duplex): HttpRefusal {
  const description = 'CONNECT is not served';
  endWithError(socket, '501 Not Implemented', description);
  const target = JSON.stringify((request.url ?? '').slice(0, 100));
  return { status: 501, description, code: `CONNECT ${target}`, clientIp: request.socket.remoteAddress };
}

/** Writes an error answer on the socket itself, then closes the connection. */
function endWithError(socket: Pick<Duplex, 'end'>, status: string, description: string): void {
  const body = errorBody(description);
  socket.end(
    `HTTP/1.1 ${status}\r\n` +
      Object.entries({ ...ERROR_HEADERS, connection: 'close' })
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('') +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * Answers a request Fastify's router refused before any hook ran (a path whose percent-encoding does not
 * decode: FST_ERR_BAD_URL) in the same JSON shape and headers as every other error, where Fastify's own
 * answer echoed the path without them. No route had it: returns the refusal for its `http.refused` line.
 */
export function answerFrameworkError(error: Error & { code?: string }, reply: FastifyReply): HttpRefusal {
  const description = 'malformed request URL';
  void reply.code(400).headers(ERROR_HEADERS).send(errorBody(description));
  const code = error.code ?? 'unknown';
  return { status: 400, description, code, clientIp: reply.request.raw.socket?.remoteAddress };
}

/**
 * RFC 9110 §10.1.1: a request expecting anything but 100-continue is answered 417, here in the JSON
 * shape and headers of every error (Node's own 417 has neither); it leaves an `http.refused` line.
 */
export function answerUnmetExpectation(request: IncomingMessage, response: ServerResponse): HttpRefusal {
  const description = 'unsupported expectation: send no Expect, or Expect: 100-continue';
  const body = errorBody(description);
  response.writeHead(417, { ...ERROR_HEADERS, connection: 'close', 'content-length': Buffer.byteLength(body) });
  response.end(body);
  const expect = JSON.stringify((request.headers.expect ?? '').slice(0, 100));
  return { status: 417, description, code: `Expect ${expect}`, clientIp: request.socket.remoteAddress };
}

/** The headers of every error answer made outside the exception filter, as the filter sets them. */
const ERROR_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'application/json; charset=utf-8',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  pragma: 'no-cache',
};

function errorBody(description: string): string {
  return JSON.stringify({ error: 'invalid_request', error_description: errorDescription(description) });
}
