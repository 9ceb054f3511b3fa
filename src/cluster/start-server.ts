import cluster from 'node:cluster';
import { Logger } from '@nestjs/common';
import { AggregatorRegistry } from 'prom-client';
import { createApp, listenManagement } from '../app/app.factory.js';
import { METRICS, type Metrics } from '../observability/metrics.js';
import type { StsConfig } from '../app/sts-config.js';
import { AnchorHealth } from '../health/anchor-health.js';
import { installShutdown } from '../http/shutdown.js';
import { ConfigReloader, reloadOnSighup } from '../app/config-reloader.js';
import { snapshotKeyState } from '../keys/key-rotation.js';
import { isStop, type KeysMessage, type ReadyMessage } from './messages.js';

/**
 * Runs the server in this process: alone, or as a cluster worker (Fastify's listen then shares the
 * primary's socket). A worker reports to its primary instead of printing the startup line, and drains
 * when the primary tells it to stop as when it receives a stop signal itself.
 */
export async function startServer(config: StsConfig): Promise<void> {
  const app = await createApp(config);
  await naming('HOST, PORT', app.listen({ port: config.server.port, host: config.server.host }));
  if (cluster.isWorker) {
    // The primary serves MANAGEMENT_PORT and asks each worker for its series (AggregatorRegistry).
    const metrics = app.get<symbol, Metrics>(METRICS);
    metrics.collectProcessMetrics();
    AggregatorRegistry.setRegistries([metrics.registry]);
    new AggregatorRegistry(); // its constructor installs the worker's answer to the primary's requests
  } else {
    await naming('MANAGEMENT_HOST, MANAGEMENT_PORT', listenManagement(app, config.server));
  }
  const anchors = app.get(AnchorHealth);
  const stop = installShutdown(app, config.server);
  const reloader = app.get(ConfigReloader);
  reloadOnSighup(reloader); // each process reloads itself; a primary passes SIGHUP on
  const usable = anchors.usable().length;
  const configured = anchors.all().length;
  if (cluster.isWorker) {
    process.on('message', (message) => {
      if (isStop(message)) stop(message.signal);
    });
    // The primary keeps the latest key state, for the replacement of a worker that dies.
    reloader.observe({
      onReload(event) {
        if (event.outcome !== 'success' || !process.connected) return;
        const keys: KeysMessage = { actbridge: 'keys', keys: snapshotKeyState(reloader.keyState()) };
        process.send!(keys);
      },
    });
    const ready: ReadyMessage = {
      actbridge: 'ready',
      anchorsUsable: usable,
      anchorsConfigured: configured,
      keys: snapshotKeyState(reloader.keyState()),
    };
    process.send!(ready);
    return;
  }
  const logger = new Logger('actbridge');
  if (config.workers.singleBecause) {
    logger.log(`WORKERS unset: one process, because ${config.workers.singleBecause}`);
  }
  logger.log(startupLine(config, usable, configured));
}

/** A listen that fails (EADDRINUSE, EACCES, an unknown host) says which settings chose the address. */
async function naming<T>(variables: string, listening: Promise<T>): Promise<T> {
  try {
    return await listening;
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)} (${variables})`, { cause: error });
  }
}

/** The one startup line, printed by the single process or by the primary once every worker listens. */
export function startupLine(config: StsConfig, usable: number, configured: number): string {
  const { server, workers } = config;
  const processes = workers.workers > 1 ? `, ${workers.workers} workers` : '';
  return (
    `listening on ${server.host}:${server.port} (${config.mode}${processes}); issuer ${server.issuer}; ` +
    `${usable} of ${configured} trust anchor(s) usable, ${config.clients.length} client(s)`
  );
}
