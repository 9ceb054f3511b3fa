import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Logger } from '@nestjs/common';
import { AggregatorRegistry } from 'prom-client';
import { listenOn, METRICS_PATH, send } from '../management/management-server.js';
import { LIVENESS_PATH, READINESS_PATH } from '../oauth/endpoint-paths.js';

/** What the primary knows of its workers, for the readiness probe. */
export interface ClusterState {
  /** Workers listening now, and how many are configured. */
  readonly listening: number;
  readonly configured: number;
  /** Set once a drain has started: the probe then answers not ready. */
  readonly stopping: boolean;
}

/**
 * The management listener of a cluster (MANAGEMENT_PORT), served by the primary: the workers share
 * the public port, so a scrape of a worker would land on any one of them. `/metrics` is every worker's
 * registry merged by prom-client's AggregatorRegistry (counters and histograms summed; gauges by the
 * aggregator each declares), `/health/live` answers while the primary runs, `/health/ready` when every
 * worker listens and no drain has started.
 */
export class ClusterManagement {
  private readonly logger = new Logger('Management');
  private readonly aggregator = new AggregatorRegistry();
  private server: Server | undefined;

  constructor(private readonly state: () => ClusterState) {}

  async listen(port: number, host: string): Promise<number> {
    const server = createServer((request, response) => void this.handle(request, response));
    this.server = server;
    const bound = await listenOn(server, port, host);
    this.logger.log(`management listener on ${host}:${bound} (${METRICS_PATH} of every worker, health)`);
    return bound;
  }

  close(): void {
    this.server?.closeAllConnections();
    this.server?.close();
    this.server = undefined;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = request.url ?? '/';
    const path = url.includes('?') ? url.slice(0, url.indexOf('?')) : url;
    try {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        return send(response, 405, { error: 'invalid_request', error_description: 'GET only' }, { allow: 'GET, HEAD' });
      }
      if (path === METRICS_PATH) {
        const body = await this.aggregator.clusterMetrics();
        response.writeHead(200, { 'content-type': this.aggregator.contentType, 'cache-control': 'no-store' });
        response.end(request.method === 'HEAD' ? undefined : body);
        return;
      }
      if (path === LIVENESS_PATH) return send(response, 200, { status: 'live' });
      if (path === READINESS_PATH) {
        const { listening, configured, stopping } = this.state();
        const ready = !stopping && listening >= configured;
        return send(response, ready ? 200 : 503, {
          status: ready ? 'ready' : 'not_ready',
          workers: { listening, configured },
          ...(stopping ? { reason: 'draining' } : {}),
        });
      }
      send(response, 404, { error: 'not_found', error_description: 'no such endpoint' });
    } catch (error) {
      // A worker that does not answer the aggregation in time: the scrape fails, the server does not.
      this.logger.error(`GET ${path}: ${error instanceof Error ? error.message : String(error)}`);
      send(response, 503, {
        error: 'temporarily_unavailable',
        error_description: 'metrics of the workers unavailable',
      });
    }
  }
}
