import cluster, { type Worker } from 'node:cluster';
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

/** prom-client's messages: each worker's AggregatorRegistry answers the request with its registries. */
const METRICS_REQUEST = 'prom-client:getMetricsReq';
const METRICS_RESPONSE = 'prom-client:getMetricsRes';
/** How long a scrape waits for the workers' series (prom-client's own bound). */
const METRICS_TIMEOUT_MS = 5000;

interface MetricsResponse {
  readonly type: string;
  readonly requestId: string;
  readonly metrics?: Parameters<typeof AggregatorRegistry.aggregate>[0];
  readonly error?: string;
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
  private server: Server | undefined;
  private requests = 0;

  constructor(
    private readonly state: () => ClusterState,
    /** The workers that listen (reported ready): a worker still starting cannot answer yet. */
    private readonly listening: () => Worker[],
  ) {}

  async listen(port: number, host: string, timeouts: ManagementTimeouts): Promise<number> {
    const handle = managementHandler(this.logger, {
      metrics: async () => {
        const body = await this.clusterMetrics(this.listening());
        return { contentType: AggregatorRegistry.PROMETHEUS_CONTENT_TYPE, body };
      },
      readiness: async () => {
        const { listening, configured, stopping } = this.state();
        const ready = !stopping && listening >= configured;
        return {
          status: ready ? 200 : 503,
          body: {
            status: ready ? 'ready' : 'not_ready',
            workers: { listening, configured },
            // The single process's readiness member (health.routes.ts), so a probe reads a drain alike.
            ...(stopping ? { draining: true } : {}),
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

  /**
   * The series of `workers`, merged. Not prom-client's clusterMetrics: that asks every forked worker, and
   * one still starting (a replacement) has no listener yet, so each scrape waited 5 s and failed. A
   * worker that exits meanwhile is left out. (No AggregatorRegistry instance here: its primary listener
   * would throw on these answers.)
   */
  private clusterMetrics(workers: Worker[]): Promise<string> {
    const asked = workers.filter((worker) => worker.isConnected());
    if (asked.length === 0) return Promise.reject(new Error('no worker listens'));
    const requestId = `actbridge-${this.requests++}`;
    return new Promise((resolve, reject) => {
      const pending = new Set(asked.map((worker) => worker.id));
      const responses: NonNullable<MetricsResponse['metrics']> = [];
      const done = (error?: Error): void => {
        clearTimeout(timer);
        cluster.off('message', onMessage);
        cluster.off('exit', onExit);
        if (error) return reject(error);
        AggregatorRegistry.aggregate(responses).metrics().then(resolve, reject);
      };
      const onMessage = (worker: Worker, message: MetricsResponse): void => {
        if (message?.type !== METRICS_RESPONSE || message.requestId !== requestId) return;
        if (message.error !== undefined) return done(new Error(message.error));
        responses.push(...(message.metrics ?? []));
        pending.delete(worker.id);
        if (pending.size === 0) done();
      };
      const onExit = (worker: Worker): void => {
        if (pending.delete(worker.id) && pending.size === 0) done();
      };
      const timer = setTimeout(() => done(new Error('the workers did not answer in time')), METRICS_TIMEOUT_MS);
      cluster.on('message', onMessage);
      cluster.on('exit', onExit);
      for (const worker of asked) worker.send({ type: METRICS_REQUEST, requestId });
    });
  }

  close(): void {
    this.server?.closeAllConnections();
    this.server?.close();
    this.server = undefined;
  }
}
