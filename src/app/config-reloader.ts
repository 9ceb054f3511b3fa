import {
  Inject,
  Injectable,
  Optional,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { METRICS, type Metrics } from '../observability/metrics.js';
import { AuditTrail } from '../audit/audit-trail.js';
import { CLIENTS } from '../clients/client-registry.js';
import { clock } from '../common/clock.js';
import { ConfigError } from '../config/config-error.js';
import { LiveConfig } from '../config/live-config.js';
import { rotateKeys, type KeyRotation, type KeyRotationState, type RotationTimes } from '../keys/key-rotation.js';
import { loadSigningKeys } from '../keys/signing-keys.loader.js';
import { AnchorIndex, ANCHORS } from '../trust-anchors/anchor-index.js';
import { buildGeneration } from '../trust-anchors/generation.js';
import { configChanges, describeChanges, hasChanges, NO_KEY_CHANGES, type ConfigChanges } from './config-changes.js';
import { releaseHeldSighup } from './sighup-hold.js';
import { storeWindows } from './store-windows.js';
import { loadStsConfig, type StsConfig } from './sts-config.js';

/** What started a reload: SIGHUP (everything), the SIGNING_KEYS_RELOAD_INTERVAL timer (keys only), or code. */
export type ReloadTrigger = 'SIGHUP' | 'interval' | 'manual';

/** The outcome of one reload, for observers (metrics). */
export type ReloadEvent =
  | { readonly outcome: 'success'; readonly trigger: ReloadTrigger; readonly changes: ConfigChanges }
  | { readonly outcome: 'failure'; readonly trigger: ReloadTrigger; readonly error: string };

/** Told of every reload's outcome (a keys-only re-read that found nothing new is not a reload). */
export interface ReloadObserver {
  onReload(event: ReloadEvent): void;
}

/** The configuration and keys the application started with (injection token). */
export const STARTUP_STATE = Symbol('STARTUP_STATE');
export interface StartupState {
  readonly config: StsConfig;
  readonly keys: KeyRotationState;
  /** Lines to log about the keys at startup (a replacement worker continuing its siblings' rotation). */
  readonly notes?: readonly string[];
}

export function rotationTimes(config: StsConfig): RotationTimes {
  const { server } = config;
  return {
    publishLeadMs: server.signingKeysPublishLead * 1000,
    retentionMs: (server.maxTokenTtl + server.clockSkew) * 1000,
  };
}

/**
 * Re-reads the configuration files without a restart: on SIGHUP (trust anchors, clients, keys) and every
 * SIGNING_KEYS_RELOAD_INTERVAL (keys). Each is validated exactly as at startup (`loadStsConfig`,
 * `loadSigningKeys`); on any error the configuration in force stays and the error is logged; on success
 * the new generation is swapped in at once (requests in flight finish on theirs) and audited
 * (`config.reloaded`). The environment is never re-read. Reloads run one at a time, in order.
 */
@Injectable()
export class ConfigReloader implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Reload');
  private readonly observers = new Set<ReloadObserver>();
  private config: StsConfig;
  private keys: KeyRotationState;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  /** The last notes logged, so a pending activation is not repeated at every interval. */
  private lastNotes = '';

  constructor(
    @Inject(STARTUP_STATE) startup: StartupState,
    private readonly live: LiveConfig,
    private readonly audit: AuditTrail,
    @Optional() @Inject(METRICS) private readonly metrics?: Metrics,
  ) {
    this.config = startup.config;
    this.keys = startup.keys;
    // Logged while Nest builds the application, so its logger settings apply.
    const keys = startup.keys.keys;
    if (keys.ephemeral) {
      new Logger('Keys').warn(
        `development signing key: generated an ephemeral ${keys.active.alg} key (kid ${keys.active.kid}); tokens stop verifying when the process restarts`,
      );
    } else {
      new Logger('Keys').log(
        `signing with kid ${keys.active.kid} (${keys.active.alg}); publishing ${keys.published.length} key(s)`,
      );
    }
    for (const note of startup.notes ?? []) new Logger('Keys').log(note);
    live.generation.get(CLIENTS).warn();
  }

  /** The keys in force and what this process remembers of them. */
  keyState(): KeyRotationState {
    return this.keys;
  }

  /** Adds an observer of reload outcomes; returns the function that removes it. */
  observe(observer: ReloadObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /** Re-reads trust anchors, clients and keys (SIGHUP). Never throws: the outcome is returned and observed. */
  reload(trigger: ReloadTrigger = 'manual'): Promise<ReloadEvent> {
    return this.enqueue(trigger, () => this.reloadAll());
  }

  /** Re-reads SIGNING_KEYS only; undefined when nothing changed. */
  reloadKeys(trigger: ReloadTrigger = 'interval'): Promise<ReloadEvent | undefined> {
    return this.enqueue(trigger, () => this.reloadKeysOnly());
  }

  onApplicationBootstrap(): void {
    const seconds = this.config.server.signingKeysReloadInterval;
    if (seconds === 0 || this.config.server.signingKeys === undefined) return;
    this.timer = setInterval(() => void this.reloadKeys('interval'), seconds * 1000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private enqueue<T extends ReloadEvent | undefined>(
    trigger: ReloadTrigger,
    work: () => Promise<{ changes: ConfigChanges; commit: () => void } | undefined>,
  ): Promise<T> {
    const run = this.queue.then(async (): Promise<ReloadEvent | undefined> => {
      let prepared;
      try {
        prepared = await work();
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        const what = error instanceof ConfigError ? 'configuration error' : 'error';
        this.logger.error(`reload (${trigger}) refused, the configuration in force is unchanged: ${what}: ${message}`);
        return this.emit({ outcome: 'failure', trigger, error: message });
      }
      if (prepared === undefined) return undefined;
      prepared.commit();
      this.logger.log(`configuration reloaded (${trigger}): ${describeChanges(prepared.changes)}`);
      try {
        this.audit.configReloaded({ trigger, generation: this.live.generation.id, changes: prepared.changes });
      } catch (error) {
        // The new configuration is in force either way; the log line above records it.
        this.logger.error(`config.reloaded audit line not written: ${(error as Error).message}`);
      }
      return this.emit({ outcome: 'success', trigger, changes: prepared.changes });
    });
    // The next reload waits for this one, whatever its outcome.
    this.queue = run.catch(() => undefined);
    return run as Promise<T>;
  }

  private async reloadAll(): Promise<{ changes: ConfigChanges; commit: () => void }> {
    const config = loadStsConfig(this.config.env ?? process.env, this.config.mode);
    this.checkStoreWindows(config);
    const rotation = await this.rotate(config);
    const generation = buildGeneration(
      this.live.generation.id + 1,
      config,
      rotation.state.keys,
      this.live.generation,
      this.metrics,
    );
    const changes = configChanges(this.config, config, rotation.changes);
    if (JSON.stringify(config.vault) !== JSON.stringify(this.config.vault)) {
      this.logger.warn('CONNECTIONS_DIR changed: token vault connections take effect at the next restart');
    }
    return {
      changes,
      commit: () => {
        this.live.swap(generation);
        this.config = config;
        this.keys = rotation.state;
        this.logNotes(rotation.notes);
        generation.get(CLIENTS).warn(this.logger);
        AnchorIndex.warmUp(generation.get(ANCHORS).created, this.logger);
      },
    };
  }

  private async reloadKeysOnly(): Promise<{ changes: ConfigChanges; commit: () => void } | undefined> {
    const rotation = await this.rotate(this.config);
    this.logNotes(rotation.notes);
    const changes = configChanges(this.config, this.config, rotation.changes);
    if (!hasChanges(changes)) return undefined;
    const generation = buildGeneration(
      this.live.generation.id + 1,
      this.config,
      rotation.state.keys,
      this.live.generation,
      this.metrics,
    );
    return {
      changes,
      commit: () => {
        this.live.swap(generation);
        this.keys = rotation.state;
      },
    };
  }

  /** The keys `config` names, rotated from those in force; the development key stays as generated. */
  private async rotate(config: StsConfig): Promise<KeyRotation> {
    if (config.server.signingKeys === undefined) return { state: this.keys, changes: NO_KEY_CHANGES, notes: [] };
    const loaded = await loadSigningKeys(config.server, config.mode);
    return rotateKeys(this.keys, loaded, clock.ms(), rotationTimes(config));
  }

  /**
   * The replay store's recovery window was sized at startup from the anchors (STORE_WINDOWS); an anchor
   * needing a longer one is only safe after a restart.
   */
  private checkStoreWindows(config: StsConfig): void {
    const running = storeWindows(this.config).replay;
    const wanted = storeWindows(config).replay;
    if (wanted.seconds > running.seconds) {
      throw new ConfigError(
        `${config.server.trustAnchorsDir}: the longest single-use window grows from ${running.seconds} s to ${wanted.seconds} s (${wanted.basis}); restart actbridge to apply it`,
      );
    }
  }

  private logNotes(notes: readonly string[]): void {
    const text = notes.join('\n');
    if (text === this.lastNotes) return;
    this.lastNotes = text;
    for (const note of notes) this.logger.log(note);
  }

  private emit(event: ReloadEvent): ReloadEvent {
    for (const observer of this.observers) {
      try {
        observer.onReload(event);
      } catch (error) {
        this.logger.error(`reload observer failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return event;
  }
}

/**
 * Reloads on SIGHUP, in this process (each worker of a cluster reloads itself). Adds a listener and
 * removes none: other SIGHUP listeners (log file reopening) run as well, and the process never stops
 * on it. Returns the function that removes the listener.
 */
export function reloadOnSighup(reloader: ConfigReloader, logger = new Logger('Reload')): () => void {
  const listener = (): void => {
    logger.log('SIGHUP received: reloading trust anchors, clients and signing keys');
    void reloader.reload('SIGHUP');
  };
  process.on('SIGHUP', listener);
  // One that arrived while the process started (src/app/sighup-hold.ts) is acted on now.
  if (releaseHeldSighup()) listener();
  return () => process.off('SIGHUP', listener);
}
