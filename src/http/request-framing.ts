import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { HttpRefusal } from '../audit/audit-trail.js';
import { answerConnect, answerUnmetExpectation } from './http-client-error.js';
import { InvalidRequest, type OAuthError } from '../oauth/oauth-error.js';

/** RFC 9110 §7.2: Host = uri-host [ ":" port ] (a reg-name, an IPv4 address or an IP literal), or empty. */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]{0,5})?$/;

/** Node's own Host check answers 400 with an empty body; actbridge answers it here instead. */
export const SERVER_OPTIONS = { requireHostHeader: false } as const;

/**
 * What Node's parser lets through but HTTP forbids or actbridge cannot read, or undefined. A request
 * this refuses reaches no handler: its Host is ambiguous or its body is in a form that would be read as
 * something else.
 */
export function framingProblem(request: IncomingMessage): OAuthError | undefined {
  const raw = request.rawHeaders;
  let hosts = 0;
  let contentTypes = 0;
  let authorizations = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') hosts++;
    else if (name.length === 12 && name.toLowerCase() === 'content-type') contentTypes++;
    else if (name.length === 13 && name.toLowerCase() === 'authorization') authorizations++;
  }
  // RFC 9112 §3.2: 400 to an HTTP/1.1 request without a Host, or with more than one, or an invalid one.
  if (hosts > 1) return refuse('more than one Host header', `${hosts} Host header lines (RFC 9112 §3.2)`);
  const host = request.headers.host;
  if (host === undefined) {
    return request.httpVersion === '1.1'
      ? refuse('missing Host header', 'HTTP/1.1 without Host (RFC 9112 §3.2)')
      : undefined;
  }
  if (!HOST.test(host)) return refuse('malformed Host header', `Host ${quoted(host)} (RFC 9112 §3.2)`);
  // RFC 9110 §5.3, §8.3: Content-Type is a single value; Node keeps the first of two, a proxy may check the last.
  if (contentTypes > 1) {
    return refuse('more than one Content-Type header', `${contentTypes} Content-Type header lines (RFC 9110 §8.3)`);
  }
  // RFC 9110 §11.6.2: one set of credentials; Node keeps the first of two, a proxy may have checked the last.
  if (authorizations > 1) {
    return refuse(
      'more than one Authorization header',
      `${authorizations} Authorization header lines (RFC 9110 §11.6.2)`,
    );
  }
  // RFC 9112 §6.1: Node decodes only chunked, so the body of `gzip, chunked` would be read still
  // compressed. Refused as a bad request (400) rather than §6.1's 501: the server works, the request not.
  const transferEncoding = request.headers['transfer-encoding'];
  if (transferEncoding !== undefined && transferEncoding.trim().toLowerCase() !== 'chunked') {
    return refuse(
      'unsupported transfer coding: send the body chunked or with a Content-Length',
      `Transfer-Encoding ${quoted(transferEncoding)} (RFC 9112 §6.1)`,
    );
  }
  // RFC 9110 §8.4: no endpoint decodes a content coding, so an encoded body would be read as its bytes.
  const contentEncoding = request.headers['content-encoding'];
  if (contentEncoding !== undefined && !/^\s*(?:identity\s*)?$/i.test(contentEncoding)) {
    return refuse(
      'unsupported content coding: send the body without Content-Encoding',
      `Content-Encoding ${quoted(contentEncoding)} (RFC 9110 §8.4)`,
    );
  }
  return undefined;
}

/**
 * Refuses framing problems before routing's handlers (and their audit) run, as every other refusal;
 * an expectation or a CONNECT, which Node takes before any route, is answered and reported to `report`
 * (its audit line).
 */
export function registerFramingCheck(fastify: FastifyInstance, report: (refusal: HttpRefusal) => void): void {
  fastify.server.on('checkExpectation', (request, response) => report(answerUnmetExpectation(request, response)));
  fastify.server.on('connect', (request, socket) => report(answerConnect(request, socket)));
  // Node hands over only the first 2000 header lines (maxHeadersCount) while its parser frames the body
  // with all of them: a second Host or Authorization past them would go unseen here. The 16 kB header
  // limit (maxHeaderSize, 431 past it) still bounds how many there can be.
  fastify.server.maxHeadersCount = 0;
  fastify.addHook('onRequest', (request, _reply, done) => {
    const problem = framingProblem(request.raw);
    done(problem);
  });
}

/** The connection is closed after the answer: where the next request starts, or for whom, is in doubt. */
function refuse(description: string, detail: string): OAuthError {
  return new InvalidRequest(description, { detail, headers: { connection: 'close' } });
}

/** A header value for the audit reason: bounded, and quoted so that it reads as data. */
function quoted(value: string): string {
  return JSON.stringify(value.slice(0, 100));
}
