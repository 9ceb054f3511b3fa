import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import { Injectable } from '@nestjs/common';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { LIVENESS_PATH, READINESS_PATH } from '../oauth/endpoint-paths.js';
import { answerHttpClientError } from './http-client-error.js';
import { TemporarilyUnavailable } from '../oauth/oauth-error.js';

/**
 * Whether the server is draining (a stop signal arrived), and how many requests are in flight. While
 * draining, every response says `Connection: close`, so a keep-alive connection ends with the request
 * it was serving instead of idling until its timeout, and requests that complete after the signal are
 * refused (503, audited by the exception filter like any refusal). Health probes are still answered:
 * readiness then says the instance is going away.
 */
@Injectable()
export class Drain {
  private signal: string | undefined;
  private active = 0;
  private answeredDuring = 0;
  private refusedDuring = 0;
  private cutDuring = 0;
  /** The connections, as the sockets requests arrive on (a TLS connection's once its handshake is done). */
  private readonly sockets = new Set<Socket>();
  /** TLS connections still in their handshake (their TCP sockets, by remote address and port). */
  private readonly handshaking = new Map<string, Socket>();
  /** Each connection's request being received or served; none between two requests. */
  private readonly current = new WeakMap<Socket, IncomingMessage>();
  /**
   * Requests whose headers arrived after the signal. One whose headers were in before is in flight and
   * is served; a later one is refused.
   */
  private readonly late = new WeakSet<IncomingMessage>();
  /** The reply of each request a route serves, to answer it at the drain deadline. */
  private readonly replies = new WeakMap<IncomingMessage, FastifyReply>();

  get draining(): boolean {
    return this.signal !== undefined;
  }

  /** Requests received and not yet answered (or abandoned). */
  get inFlight(): number {
    return this.active;
  }

  /**
   * Since begin(): responses sent in full (the refusals included), requests refused because of the
   * drain, and requests answered 503 at its deadline (cutInFlight).
   */
  get tally(): { answered: number; refused: number; cut: number } {
    return { answered: this.answeredDuring, refused: this.refusedDuring, cut: this.cutDuring };
  }

  /** Starts draining; returns the number of requests in flight. */
  begin(signal: string): number {
    this.signal ??= signal;
    return this.active;
  }

  /** Follows the connections and requests of `server` (raw Node requests: every route, every outcome). */
  track(server: Server): void {
    const follow = (socket: Socket): void => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    };
    if (server instanceof TlsServer) {
      // Requests arrive on the TLS socket: an answer written on the TCP socket under it would be
      // plaintext inside the TLS stream, breaking the connection and its request in flight.
      server.on('connection', (raw: Socket) => {
        const key = remoteOf(raw);
        this.handshaking.set(key, raw);
        raw.once('close', () => this.handshaking.delete(key));
      });
      server.on('secureConnection', (socket: Socket) => {
        this.handshaking.delete(remoteOf(socket));
        follow(socket);
      });
    } else {
      server.on('connection', follow);
    }
    // Before Fastify's own listener: a request without a body reaches its handlers within that listener.
    server.prependListener('request', (request, response) => {
      this.active++;
      if (this.draining) this.late.add(request);
      this.current.set(request.socket, request);
      response.once('finish', () => {
        this.current.delete(request.socket);
        if (this.draining) this.answeredDuring++;
      });
      response.once('close', () => this.active--);
    });
  }

  /**
   * Answers 408 on, and closes, every connection whose request is still arriving (headers or body).
   * Node stops checking HEADERS_TIMEOUT_MS and REQUEST_TIMEOUT_MS once the server closes, so the drain
   * calls this when a request started at the signal would have timed out; requests already received
   * and being served are left to finish.
   */
  cutIncompleteRequests(): number {
    let cut = this.closeHandshakes();
    for (const socket of this.sockets) {
      if (this.current.get(socket)?.complete) continue;
      answerHttpClientError(Object.assign(new Error('request timed out while draining'), { code: TIMEOUT }), socket);
      cut++;
    }
    return cut;
  }

  /**
   * At the drain deadline: answers every request still being served `503 temporarily_unavailable`
   * (audited by the exception filter like any refusal, `Connection: close` ending its connection once
   * written) rather than resetting it unanswered and unaudited; closes every other connection (a
   * response under way, a request still arriving). Returns how many requests were answered so.
   */
  cutInFlight(): number {
    this.closeHandshakes();
    let cut = 0;
    for (const socket of this.sockets) {
      const request = this.current.get(socket);
      const reply = request?.complete ? this.replies.get(request) : undefined;
      if (!reply || reply.sent) {
        socket.destroy();
        continue;
      }
      cut++;
      this.cutDuring++;
      const error = new TemporarilyUnavailable('the server is shutting down; retry the request', {
        detail: `cut at the drain deadline (${this.signal})`,
        headers: { 'retry-after': '1' },
      });
      deadlineCuts.add(error);
      // Fastify hands an error sent on a reply to its error handler: the exception filter answers and audits it.
      void reply.send(error);
    }
    return cut;
  }

  /** Closes the TLS connections whose handshake is still going on: nothing can be answered on them. */
  private closeHandshakes(): number {
    const closed = this.handshaking.size;
    for (const raw of this.handshaking.values()) raw.destroy();
    this.handshaking.clear();
    return closed;
  }

  /** Registers the hooks that apply the drain to every route of `fastify`. */
  register(fastify: FastifyInstance): void {
    // Refused once the body is read: answering before could reset the connection under it.
    fastify.addHook('preHandler', (request, reply, done) => {
      // Every request a route serves passes here: its reply is kept to answer it at the drain deadline.
      this.replies.set(request.raw, reply);
      // The route Fastify matched, not the URL as sent: `/health/%6Cive` is the liveness probe too.
      if (!this.draining || !this.late.has(request.raw) || HEALTH_PATHS.has(request.routeOptions.url ?? '')) {
        return done();
      }
      this.refusedDuring++;
      done(
        new TemporarilyUnavailable('the server is shutting down; retry the request', {
          detail: `refused while draining (${this.signal})`,
          headers: { 'retry-after': '1' },
        }),
      );
    });
    fastify.addHook('onSend', (_request, reply, payload, done) => {
      if (this.draining) void reply.header('connection', 'close');
      done(null, payload);
    });
  }
}

const HEALTH_PATHS = new Set([LIVENESS_PATH, READINESS_PATH]);

const deadlineCuts = new WeakSet<object>();

/** Whether `error` answered a request still running at the drain deadline (its handler never ends). */
export function cutAtDrainDeadline(error: unknown): boolean {
  return typeof error === 'object' && error !== null && deadlineCuts.has(error);
}

/** A connection's remote end, the same on a TLS socket as on the TCP socket under it. */
function remoteOf(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}

/** Node's code for a request past its timeout, which answerHttpClientError answers 408. */
const TIMEOUT = 'ERR_HTTP_REQUEST_TIMEOUT';
