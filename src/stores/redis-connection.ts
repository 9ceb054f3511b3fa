import { Logger } from '@nestjs/common';
import type { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import type { ReplayStoreHealth } from './replay-store.js';
import type { StoreWindows } from './single-use-window.js';
import { StoreEpoch, type StoreMemory } from './store-epoch.js';

export interface RedisConnectionOptions {
  /** Bound on every command, milliseconds (REDIS_TIMEOUT_MS): an unreachable Redis never hangs a request. */
  readonly timeoutMs?: number;
  /** How long the stored state must be remembered (from the configuration): see StoreEpoch. */
  readonly windows?: StoreWindows;
  /** The epoch marker's key, if not the default one. */
  readonly epochKey?: string;
  /** How often the marker and the store's evictions are read when nothing else reads them, milliseconds. */
  readonly watchMs?: number;
}

/** Commands that act only while the store still holds the epoch marker this instance trusts. */
interface EpochGuardedCommands {
  /** 1: recorded now; 0: already recorded; -1: the marker is not the expected one. */
  actbridgeConsumeOnce(marker: string, key: string, expected: string, expiresAt: number): Promise<number>;
  /** 1 / 0: whether `key` exists; -1: the marker is not the expected one. */
  actbridgeExistsInEpoch(marker: string, key: string, expected: string): Promise<number>;
}

// KEYS[1] the epoch marker, KEYS[2] the key; ARGV[1] the marker value trusted. Checked in the same
// atomic step as the write or read, so an answer from a store that has just lost its data is never used.
const CONSUME_ONCE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('SET', KEYS[2], '1', 'EXAT', ARGV[2], 'NX') then return 1 end
return 0`;
const EXISTS_IN_EPOCH = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
return redis.call('EXISTS', KEYS[2])`;

/**
 * The one Redis connection an instance keeps for its shared state (replay sets, revocations, lineage). Every
 * command either answers or rejects within `timeoutMs`, so callers fail closed quickly; an outage and
 * the recovery are logged once each, never per retry. Whether the store still remembers what it was
 * told is checked against its epoch marker (StoreEpoch) on every connect and with every command, and
 * (evictions, a marker gone while idle) at least once a second.
 */
export class RedisConnection {
  readonly client: Redis;
  readonly epoch: StoreEpoch;
  private readonly logger = new Logger('Stores');
  /** Whether the last thing heard from the connection was an error. */
  private failing = false;
  private readonly watch: NodeJS.Timeout;

  constructor(url: string, options: RedisConnectionOptions = {}) {
    const timeoutMs = options.timeoutMs ?? 1000;
    this.client = new Redis(url, {
      lazyConnect: false,
      maxRetriesPerRequest: 1,
      // Commands issued while (re)connecting wait in the queue, but never longer than commandTimeout.
      enableOfflineQueue: true,
      // Not auto-pipelining: it keeps one batch in flight at a time, and its batches outlived young
      // collections (longer pauses, a longer tail); corkEachTurn below saves the same writes.
      enableAutoPipelining: false,
      commandTimeout: timeoutMs,
      connectTimeout: Math.max(timeoutMs, 2000),
      disconnectTimeout: timeoutMs,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    corkEachTurn(this.client);
    this.client.defineCommand('actbridgeConsumeOnce', { numberOfKeys: 2, lua: CONSUME_ONCE });
    this.client.defineCommand('actbridgeExistsInEpoch', { numberOfKeys: 2, lua: EXISTS_IN_EPOCH });
    this.epoch = new StoreEpoch(this.client, options.windows, options.epochKey);
    // Without a listener ioredis would print each connection error as an unhandled 'error' event.
    this.client.on('error', (error: Error) => {
      if (this.failing) return;
      this.failing = true;
      this.logger.warn(
        `Redis unreachable (${error.message}); replay- and revocation-sensitive requests fail with 503 until it is back`,
      );
    });
    this.client.on('ready', () => {
      if (this.failing) this.logger.log('Redis reachable again');
      this.failing = false;
      // A reconnect may reach a store that restarted empty: find out now, not at the next request.
      this.epoch
        .read()
        .catch((error: Error) => this.logger.warn(`cannot read the store's epoch marker: ${error.message}`));
    });
    // Evictions (and a lost marker) are noticed within a second even when no command or probe reads it.
    this.watch = setInterval(() => {
      if (this.client.status === 'ready') this.epoch.read().catch(() => undefined);
    }, options.watchMs ?? 1000);
    this.watch.unref();
  }

  /** SET key NX EXAT expiresAt, if the store still remembers: true when recorded now. */
  async consumeOnce(key: string, expiresAt: number): Promise<boolean> {
    const result = await this.guarded('replay', (commands, marker, expected) =>
      commands.actbridgeConsumeOnce(marker, key, expected, expiresAt),
    );
    return result === 1;
  }

  /** EXISTS key, if the store still remembers. */
  async existsInEpoch(key: string, memory: StoreMemory): Promise<boolean> {
    const result = await this.guarded(memory, (commands, marker, expected) =>
      commands.actbridgeExistsInEpoch(marker, key, expected),
    );
    return result === 1;
  }

  /**
   * Defines a Lua command checked against the epoch marker: the script gets the marker as KEYS[1] and the
   * value trusted as ARGV[1] (its own keys and arguments follow), and returns -1 when they differ.
   */
  defineGuarded(name: string, lua: string): void {
    this.client.defineCommand(name, { lua });
  }

  /** Runs a command defined by defineGuarded, if the store still remembers `memory`. */
  runGuarded(
    memory: StoreMemory,
    name: string,
    keys: readonly string[],
    args: ReadonlyArray<string | number>,
  ): Promise<unknown> {
    const command = (this.client as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[name]!;
    return this.guarded(memory, (_, marker, expected) =>
      command.call(this.client, keys.length + 1, marker, ...keys, expected, ...args),
    );
  }

  /** Runs `command` against the trusted marker; when the marker changed, reads it once and retries. */
  private async guarded<T>(
    memory: StoreMemory,
    command: (commands: EpochGuardedCommands, marker: string, expected: string) => Promise<T>,
  ): Promise<T> {
    const commands = this.client as unknown as EpochGuardedCommands;
    for (let attempt = 0; ; attempt++) {
      const result = await command(commands, this.epoch.key, await this.epoch.expect(memory));
      if (result !== -1) return result;
      // After the read, expect() throws StoreMemoryLostError if the change was a loss; else (say, an
      // operator's confirmation) the command is retried once.
      await this.epoch.read();
      if (attempt === 1) throw new Error('the epoch marker changed twice during one command');
    }
  }

  async health(): Promise<ReplayStoreHealth> {
    const connection = this.client.status;
    if (connection !== 'ready') return { store: 'redis', status: 'down', connection };
    try {
      await this.client.ping();
      // Also how an idle instance sees an operator's confirmation.
      await this.epoch.read();
    } catch {
      return { store: 'redis', status: 'down', connection: this.client.status };
    }
    const memory = this.epoch.health();
    if (memory.memory === 'intact') return { store: 'redis', status: 'up', connection };
    return { store: 'redis', status: 'lost', connection, ...memory };
  }

  async close(): Promise<void> {
    clearInterval(this.watch);
    // QUIT needs a connection; without one, stop reconnecting at once rather than wait for a timeout.
    if (this.client.status !== 'ready') {
      this.client.disconnect();
      return;
    }
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

/**
 * The commands sent in one turn of the event loop (concurrent exchanges each checking revocation and
 * recording lineage) leave in one write: the socket is corked at the first and uncorked at the turn's
 * check phase (setImmediate), so they go out as one writev. Each is answered as its reply arrives. Only
 * writes to a ready connection are held: the handshake's go out at once, and commands issued while offline
 * wait in ioredis's queue until it is ready.
 */
export function corkEachTurn(client: Redis): void {
  const send = client.sendCommand.bind(client);
  let corked: Writable | undefined;
  const uncork = (): void => {
    corked?.uncork();
    corked = undefined;
  };
  client.sendCommand = (command, stream) => {
    // A transaction (MULTI) writes through its own stream, already in one write, into the same socket.
    const socket: Writable | undefined = stream === undefined ? client.stream : undefined;
    if (corked === undefined && client.status === 'ready' && socket?.writable) {
      socket.cork();
      corked = socket;
      setImmediate(uncork);
    }
    return send(command, stream);
  };
}
