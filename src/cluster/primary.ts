import cluster, { type Worker } from 'node:cluster';
import { Logger } from '@nestjs/common';
import { createLogger } from '../app/app.factory.js';
import { loadStsConfig, type StsConfig } from '../app/sts-config.js';
import { ConfigError } from '../config/config-error.js';
import { IGNORED_SIGNALS, STOP_SIGNALS } from '../http/shutdown.js';
import { INHERITED_KEYS_ENV, type KeyStateSnapshot } from '../keys/key-rotation.js';
import { isKeys, isReady, type StopMessage } from './messages.js';
import { RestartPolicy } from './restart-policy.js';
import { ClusterManagement } from './cluster-management.js';
import { startupLine } from './start-server.js';

/** Signals the primary passes on to every worker (a configuration reload, where a worker handles it). */
const FORWARDED_SIGNALS = ['SIGHUP'] as const;
/** Time over SHUTDOWN_TIMEOUT the primary gives workers to report their exit before killing them. */
const EXIT_GRACE_MS = 1000;

/**
 * The cluster's primary: serves nothing itself. It forks WORKERS workers that share the listening
 * socket, prints the startup line once all listen, replaces a worker that dies (RestartPolicy: with
 * backoff; crash-looping, once a minute while others serve, else it stops the server), passes SIGTERM/SIGINT on as a drain of every
 * worker and exits 0 once all drained (1 if any did not), and forwards SIGHUP.
 */
export class Primary {
  private readonly logger = new Logger('Cluster');
  private readonly restarts = new RestartPolicy();
  private readonly ready = new Map<number, { usable: number; configured: number }>();
  private readonly pendingRestarts = new Set<NodeJS.Timeout>();
  /** Workers the drain ended with SIGTERM while they were still starting (nothing to drain). */
  private readonly terminatedStarting = new Set<number>();
  private started = false;
  /** Crash-looping with workers still serving: one replacement per restart window until all listen again. */
  private degraded = false;
  private stopping: string | undefined;
  private exitCode = 0;
  private finished = false;
  private management: ClusterManagement | undefined;
  /** The workers' key state as last reported, handed to a replacement worker. */
  private keys: KeyStateSnapshot | undefined;

  constructor(
    private readonly config: StsConfig,
    private readonly exit: (code: number) => void = (code) => process.exit(code),
  ) {}

  start(): void {
    Logger.overrideLogger(createLogger(this.config.server, this.config.mode).nest());
    cluster.on('message', (worker, message) => {
      if (isReady(message) || isKeys(message)) this.keys = message.keys;
      if (isReady(message)) this.onReady(worker, message.anchorsUsable, message.anchorsConfigured);
    });
    cluster.on('exit', (worker, code, signal) => this.onExit(worker, code, signal));
    this.installSignals();
    for (let i = 0; i < this.config.workers.workers; i++) cluster.fork();
    this.listenManagement();
  }

  /** MANAGEMENT_PORT on the primary (0: off): metrics of every worker, and the cluster's health. */
  private listenManagement(): void {
    const { managementPort, managementHost } = this.config.server;
    if (managementPort === 0) return;
    const management = new ClusterManagement(
      () => ({
        listening: this.ready.size,
        configured: this.config.workers.workers,
        stopping: this.stopping !== undefined,
      }),
      () => living().filter((worker) => this.ready.has(worker.id)),
    );
    this.management = management;
    management.listen(managementPort, managementHost, this.config.server).catch((error: unknown) => {
      this.logger.error(`management listener on ${managementHost}:${managementPort}: ${(error as Error).message}`);
      this.stop('management listener failure', 1);
    });
  }

  private onReady(worker: Worker, usable: number, configured: number): void {
    this.ready.set(worker.id, { usable, configured });
    if (this.started) {
      this.logger.log(`worker ${worker.id} (pid ${worker.process.pid}) listening`);
      if (this.degraded && this.ready.size >= this.config.workers.workers) {
        this.degraded = false;
        this.logger.log(`all ${this.ready.size} workers listening again`);
      }
      return;
    }
    if (this.ready.size < this.config.workers.workers) return;
    this.started = true;
    const counts = [...this.ready.values()];
    const leastUsable = Math.min(...counts.map((c) => c.usable));
    this.logger.log(startupLine(this.config, leastUsable, counts[0]!.configured));
  }

  private onExit(worker: Worker, code: number | null, signal: string | null): void {
    this.ready.delete(worker.id);
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (this.stopping) {
      // A worker our drain ended with SIGTERM while it started had no request to lose: not a failed stop.
      const clean = code === 0 || (signal === 'SIGTERM' && this.terminatedStarting.has(worker.id));
      if (!clean) this.exitCode = 1;
      this.logger.log(`worker ${worker.id} (pid ${worker.process.pid}) exited (${how})`);
      if (living().length === 0) this.finish();
      return;
    }
    if (!this.started) {
      this.logger.error(`worker ${worker.id} exited during startup (${how}); stopping`);
      this.stop('startup failure', 1);
      return;
    }
    const serving = this.ready.size;
    const configured = this.config.workers.workers;
    const retry = `one replacement is tried every ${this.restarts.windowMs / 1000} s`;
    if (this.degraded) {
      this.restarts.death(Date.now());
      if (serving === 0) return this.crashLoop(worker, how);
      this.logger.error(
        `worker ${worker.id} (pid ${worker.process.pid}) exited (${how}); ${serving} of ${configured} worker(s) serving, ${retry}`,
      );
      return this.replace(this.restarts.windowMs);
    }
    const delay = this.restarts.death(Date.now());
    if (delay === undefined) {
      // Crash-looping: a broken file on disk (a reload kept the running workers on the last good
      // configuration, a replacement reads the file) or a fault of every process. Workers still serving
      // keep serving; only with none left is there nothing to keep.
      if (serving === 0) return this.crashLoop(worker, how);
      this.degraded = true;
      this.logger.error(
        `worker ${worker.id} (pid ${worker.process.pid}) exited (${how}): ${this.restarts.recent(Date.now())} ` +
          `unexpected exits within ${this.restarts.windowMs / 1000} s, the workers are crash-looping; ` +
          `${serving} of ${configured} worker(s) keep serving, ${retry} (the replacements' own lines say why they exit)`,
      );
      return this.replace(this.restarts.windowMs);
    }
    this.logger.warn(
      `worker ${worker.id} (pid ${worker.process.pid}) exited unexpectedly (${how}); replacing it in ${delay} ms`,
    );
    this.replace(delay);
  }

  private crashLoop(worker: Worker, how: string): void {
    this.logger.error(
      `worker ${worker.id} (pid ${worker.process.pid}) exited (${how}): ${this.restarts.recent(Date.now())} ` +
        `unexpected exits within ${this.restarts.windowMs / 1000} s, the workers are crash-looping and none is serving; stopping`,
    );
    this.stop('crash loop', 1);
  }

  /**
   * Forks a replacement worker after `delay` ms, unless the server is stopping by then, or the
   * configuration on disk no longer loads (a broken file whose reload the running workers refused):
   * a replacement would only exit on it, so none is forked until the files load again.
   */
  private replace(delay: number): void {
    const timer = setTimeout(() => {
      this.pendingRestarts.delete(timer);
      if (this.stopping) return;
      const problem = this.configurationProblem();
      if (problem !== undefined) return this.cannotReplace(problem);
      // The replacement continues the running workers' key rotation rather than restarting it.
      cluster.fork(this.keys ? { [INHERITED_KEYS_ENV]: JSON.stringify(this.keys) } : {});
    }, delay);
    this.pendingRestarts.add(timer);
  }

  /** Why the configuration on disk does not load now (ConfigError's one line), or undefined. */
  private configurationProblem(): string | undefined {
    try {
      loadStsConfig(process.env, this.config.mode);
      return undefined;
    } catch (error) {
      // Anything else is the replacement's to meet and report.
      return error instanceof ConfigError ? error.message.replace(/:\n\s*/g, ': ').replace(/\n\s*/g, '; ') : undefined;
    }
  }

  private cannotReplace(problem: string): void {
    const serving = this.ready.size;
    if (serving === 0) {
      this.logger.error(`a replacement worker cannot start, none is serving: ${problem}; stopping`);
      return this.stop('configuration failure', 1);
    }
    this.degraded = true;
    this.logger.error(
      `a replacement worker cannot start: ${problem}; ${serving} of ${this.config.workers.workers} worker(s) keep ` +
        `serving the configuration they loaded, a replacement is tried every ${this.restarts.windowMs / 1000} s`,
    );
    this.replace(this.restarts.windowMs);
  }

  private installSignals(): void {
    for (const signal of STOP_SIGNALS) {
      process.on(signal, () => {
        if (!this.stopping) return this.stop(signal, 0);
        this.logger.warn(`${signal} received again: killing the workers without finishing the drain`);
        for (const worker of living()) worker.process.kill('SIGKILL');
        this.exit(1);
      });
    }
    for (const signal of FORWARDED_SIGNALS) {
      process.on(signal, () => {
        const workers = living();
        this.logger.log(`${signal} received: forwarded to ${workers.length} worker(s)`);
        for (const worker of workers) worker.process.kill(signal);
      });
    }
    for (const signal of IGNORED_SIGNALS.filter((s) => !(FORWARDED_SIGNALS as readonly string[]).includes(s))) {
      process.on(signal, () => this.logger.log(`${signal} received: ignored (only SIGTERM and SIGINT stop actbridge)`));
    }
  }

  /** Tells every worker to drain; exits once all have exited, or kills them after the drain's bound. */
  private stop(reason: string, exitCode: number): void {
    if (this.stopping) return;
    this.stopping = reason;
    this.exitCode = exitCode;
    for (const timer of this.pendingRestarts) clearTimeout(timer);
    const workers = living();
    const why = (STOP_SIGNALS as readonly string[]).includes(reason) ? `${reason} received` : reason;
    this.logger.log(
      `${why}: draining ${workers.length} worker(s) (SHUTDOWN_TIMEOUT ${this.config.server.shutdownTimeout} s)`,
    );
    if (workers.length === 0) return this.finish();
    const message: StopMessage = { actbridge: 'stop', signal: reason };
    for (const worker of workers) {
      // A worker still starting has no drain to run yet: SIGTERM ends it (and, once it listens, drains it).
      if (this.ready.has(worker.id) && worker.isConnected()) worker.send(message);
      else {
        this.terminatedStarting.add(worker.id);
        worker.process.kill('SIGTERM');
      }
    }
    setTimeout(
      () => {
        if (this.finished) return;
        const left = living();
        this.logger.warn(`${left.length} worker(s) still running past SHUTDOWN_TIMEOUT: killing them`);
        for (const worker of left) worker.process.kill('SIGKILL');
        this.exitCode = 1;
        this.finish();
      },
      this.config.server.shutdownTimeout * 1000 + EXIT_GRACE_MS,
    ).unref();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.management?.close();
    this.logger.log(`all workers stopped; exit code ${this.exitCode}`);
    this.exit(this.exitCode);
  }
}

/** Workers not yet exited (cluster.workers keeps an exited one until its IPC channel has closed too). */
function living(): Worker[] {
  return Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());
}
