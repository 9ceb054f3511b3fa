import type { Server } from 'node:http';
import { Logger } from '@nestjs/common';
import { AggregatorRegistry } from 'prom-client';
import {
  listenOn,
  managementHandler,
  managementServer,
  METRICS_PATH,
  type ManagementTimeouts,
} from '../management/management-server.js';

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

  async listen(port: number, host: string, timeouts: ManagementTimeouts): Promise<number> {
    const handle = managementHandler(this.logger, {
      metrics: async () => {
        const body = await this.aggregator.clusterMetrics();
        return { contentType: this.aggregator.contentType, body };
      },
      readiness: async () => {
        const { listening, configured, stopping } = this.state();
        const ready = !stopping && listening >= configured;
        return {
          status: ready ? 200 : 503,
          body: {
            status: ready ? 'ready' : 'not_ready',
            workers: { listening, configured },
            ...(stopping ? { reason: 'draining' } : {}),
          },
        };
      },
      // A worker that does not answer the aggregation in time: the scrape fails, the server does not.
      failure: {
        status: 503,
        body: { error: 'temporarily_unavailable', error_description: 'metrics of the workers unavailable' },
      },
    });
    const server = managementServer(timeouts, handle);
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
}
