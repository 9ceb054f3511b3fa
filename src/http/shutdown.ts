import type { Server } from 'node:http';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { ServerConfig } from '../config/server-config.js';
import { Drain } from './drain.js';

/** The signals that stop actbridge. */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;
/**
 * Signals that stop a Node process by default and must not stop an STS: nodemon and some supervisors
 * send SIGUSR2. (SIGHUP reloads the configuration: `reloadOnSighup`.)
 */
export const IGNORED_SIGNALS = ['SIGUSR2'] as const;

/**
 * Stops the server on SIGTERM or SIGINT within SHUTDOWN_TIMEOUT: no new connections, idle keep-alive
 * connections closed at once, in-flight requests answered (with `Connection: close`), requests arriving
 * meanwhile refused and audited (Drain), then Nest's shutdown hooks (Redis, audit file), then exit 0
 * with a log line. A second stop signal exits at once. SIGUSR2 is logged and ignored.
 *
 * Returns a function that starts the same drain without a signal (a cluster worker told to stop by its
 * primary); calling it while stopping does nothing, and it does not count as a first stop signal.
 */
export function installShutdown(
  app: NestFastifyApplication,
  server: Pick<ServerConfig, 'shutdownTimeout' | 'requestTimeoutMs'>,
  exit: (code: number) => void = (code) => process.exit(code),
): (signal: string) => void {
  const logger = new Logger('Shutdown');
  for (const signal of IGNORED_SIGNALS) {
    process.on(signal, () => logger.log(`${signal} received: ignored (only SIGTERM and SIGINT stop actbridge)`));
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    void drainAndClose(app, signal, { timeoutMs: server.shutdownTimeout * 1000, ...server }, logger).then(exit);
  };
  let signalled = false;
  for (const signal of STOP_SIGNALS) {
    process.on(signal, () => {
      if (signalled) {
        logger.warn(`${signal} received again: exiting without finishing the drain`);
        exit(1);
        return;
      }
      signalled = true;
      stop(signal);
    });
  }
  return stop;
}

/**
 * Drains and closes `app`, bounded by `timeoutMs`; resolves to the exit code: 0 when every in-flight
 * request was answered and the application closed, 1 when the deadline cut connections or a shutdown
 * hook failed.
 */
export async function drainAndClose(
  app: NestFastifyApplication,
  signal: string,
  { timeoutMs, requestTimeoutMs }: { timeoutMs: number; requestTimeoutMs: number },
  logger = new Logger('Shutdown'),
): Promise<number> {
  const started = Date.now();
  const drain = app.get(Drain);
  const inFlight = drain.begin(signal);
  const http = app.getHttpServer() as Server;
  // Stop accepting now (and close idle keep-alive connections, Node does both here) rather than once
  // Nest reaches the HTTP adapter in app.close(); Fastify's own close then waits for the same drain.
  http.close();
  logger.log(
    `${signal} received: draining ${inFlight} in-flight request(s), accepting no new connections (SHUTDOWN_TIMEOUT ${timeoutMs / 1000} s)`,
  );
  // Closing the server ends Node's own request timeouts; a client still sending then is cut here.
  const slowTimer = setTimeout(() => {
    const slow = drain.cutIncompleteRequests();
    if (slow > 0) logger.log(`closed ${slow} connection(s) still sending their request (REQUEST_TIMEOUT_MS)`);
  }, requestTimeoutMs);
  // Requests still running shortly before the deadline are cut, leaving time for the shutdown hooks:
  // answered 503 with their audit line, not reset unanswered (a caller would not know to retry).
  const cutAfter = timeoutMs - Math.min(1000, timeoutMs / 4);
  let cut = 0;
  const cutTimer = setTimeout(() => {
    cut = drain.inFlight;
    const answered = drain.cutInFlight();
    logger.warn(
      `drain deadline: answering ${answered} of ${cut} request(s) still in flight 503 and closing their connections`,
    );
  }, cutAfter);
  let hardStop: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    app.close().then(
      () => 'closed' as const,
      (error: unknown) => {
        logger.error(`shutdown hook failed: ${error instanceof Error ? error.message : String(error)}`);
        return 'failed' as const;
      },
    ),
    new Promise<'timeout'>((resolve) => (hardStop = setTimeout(resolve, timeoutMs, 'timeout'))),
  ]);
  clearTimeout(slowTimer);
  clearTimeout(cutTimer);
  clearTimeout(hardStop);
  const code = outcome === 'closed' && cut === 0 ? 0 : 1;
  const { answered, refused, cut: answeredAtDeadline } = drain.tally;
  logger.log(
    `stopped in ${Date.now() - started} ms: ${answered - refused - answeredAtDeadline} request(s) answered and ${refused} refused during the drain` +
      `${cut ? `, ${cut} cut at the deadline` : ''}${outcome === 'timeout' ? ', shutdown hooks unfinished' : ''}; exit code ${code}`,
  );
  return code;
}
