import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ServerConfig } from '../config/server-config.js';
import { answerHttpClientError } from '../http/http-client-error.js';
import { httpTimeoutOptions } from '../http/http-timeouts.js';
import { HealthRoutes } from '../health/health.routes.js';
import { LIVENESS_PATH, READINESS_PATH } from '../oauth/endpoint-paths.js';
import { METRICS, type Metrics } from '../observability/metrics.js';

export const METRICS_PATH = '/metrics';

/**
 * The management listener (MANAGEMENT_PORT, loopback by default): `/metrics` for Prometheus and the
 * health probes, apart from the token endpoint so that a scraper or a probe needs no route to it and
 * the public port serves no operational detail. Plain node:http: a handful of GETs, no body parsing.
 */
@Injectable()
export class ManagementServer implements OnApplicationShutdown {
  private readonly logger = new Logger('Management');
  private server: Server | undefined;

  constructor(
    @Inject(METRICS) private readonly metrics: Metrics,
    private readonly health: HealthRoutes,
  ) {}

  /** Listens on `port` (0: any free port) and `host`; resolves to the port bound. */
  async listen(port: number, host: string, timeouts: ManagementTimeouts): Promise<number> {
    this.metrics.collectProcessMetrics();
    const handle = managementHandler(this.logger, {
      metrics: () => this.metrics.scrape(),
      readiness: async () => {
        const readiness = await this.health.readiness();
        return { status: readiness.status === 'ready' ? 200 : 503, body: readiness };
      },
      failure: { status: 500, body: { error: 'server_error', error_description: 'internal server error' } },
    });
    const server = managementServer(timeouts, handle);
    this.server = server;
    const bound = await listenOn(server, port, host);
    this.logger.log(`management listener on ${host}:${bound} (${METRICS_PATH}, ${LIVENESS_PATH}, ${READINESS_PATH})`);
    return bound;
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** What a management listener answers besides liveness: its metrics and its readiness. */
export interface ManagementAnswers {
  metrics(): Promise<{ contentType: string; body: string }>;
  readiness(): Promise<{ status: number; body: unknown }>;
  /** The answer when either of them throws. */
  readonly failure: { readonly status: number; readonly body: unknown };
}

/**
 * The request handler of a management listener: GET or HEAD of METRICS_PATH, LIVENESS_PATH and
 * READINESS_PATH (query ignored), a JSON error for anything else.
 */
export function managementHandler(
  logger: Logger,
  answers: ManagementAnswers,
): (request: IncomingMessage, response: ServerResponse) => Promise<void> {
  return async (request, response) => {
    const url = request.url ?? '/';
    const path = url.includes('?') ? url.slice(0, url.indexOf('?')) : url;
    try {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        return send(response, 405, { error: 'invalid_request', error_description: 'GET only' }, { allow: 'GET, HEAD' });
      }
      if (path === METRICS_PATH) {
        const { contentType, body } = await answers.metrics();
        response.writeHead(200, {
          'content-type': contentType,
          'x-content-type-options': 'nosniff',
          'cache-control': 'no-store',
        });
        response.end(request.method === 'HEAD' ? undefined : body);
        return;
      }
      if (path === LIVENESS_PATH) return send(response, 200, { status: 'live' });
      if (path === READINESS_PATH) {
        const { status, body } = await answers.readiness();
        return send(response, status, body);
      }
      send(response, 404, { error: 'not_found', error_description: 'no such endpoint' });
    } catch (error) {
      logger.error(`GET ${path}: ${error instanceof Error ? error.message : String(error)}`);
      send(response, answers.failure.status, answers.failure.body);
    }
  };
}

/** The settings bounding how long a client may hold a management connection. */
export type ManagementTimeouts = Pick<ServerConfig, 'requestTimeoutMs' | 'headersTimeoutMs' | 'keepAliveTimeoutMs'>;

/**
 * A management listener's server, held to the public port's HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS
 * and KEEP_ALIVE_TIMEOUT_MS: with Node's defaults (60 s for headers, checked every 30 s) anyone who
 * reaches the port could hold connections open that long, and MANAGEMENT_HOST may be wider than loopback.
 */
export function managementServer(
  timeouts: ManagementTimeouts,
  handle: (request: IncomingMessage, response: ServerResponse) => Promise<void>,
): Server {
  const { http, keepAliveTimeout } = httpTimeoutOptions(timeouts);
  const server = createServer({ ...http, keepAliveTimeout }, (request, response) => void handle(request, response));
  // Node's own 400/408/431 has no body: answered in the JSON of every other error, as on the public port.
  server.on('clientError', (error: Error & { code?: string }, socket: Socket) => answerHttpClientError(error, socket));
  return server;
}

/** Listens on `port` (0: any free port) and `host`; resolves to the port bound, rejects on a listen error. */
export async function listenOn(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as { port: number }).port;
}

/** A JSON answer of the management listener (never cached). */
export function send(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
    ...headers,
  });
  response.end(JSON.stringify(body));
}
