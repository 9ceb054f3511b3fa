import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { DEFAULT_STORE_WINDOWS, type StoreWindows } from './single-use-window.js';
import { clock } from '../common/clock.js';

/** The marker's key: beside the replay (`actbridge:replay:`) and revocation (`actbridge:revoked:`) keys. */
export const EPOCH_KEY = 'actbridge:epoch';

/**
 * The epoch marker, a JSON string without expiry. A store that loses its data (a restart without
 * persistence, a flush) loses the marker with it, which is how the loss is noticed.
 */
export interface EpochMarker {
  /** Random; a new one each time the marker is created. */
  readonly epoch: string;
  /** Epoch seconds since which the store's memory is known complete; earlier entries may be lost. null: complete. */
  readonly lost_at: number | null;
  readonly reason?: string;
  /** Set by an operator (`npm run store -- confirm-reset`): the loss is accepted, checks resume. */
  readonly confirmed_at?: number;
  readonly note?: string;
}

/** A kind of state the marker vouches for. */
export type StoreMemory = 'replay' | 'revocation';

/** Thrown instead of trusting a store that may have forgotten what it must remember. */
export class StoreMemoryLostError extends Error {
  override readonly name = 'StoreMemoryLostError';

  constructor(
    readonly memory: StoreMemory,
    /** Epoch seconds when checks resume by themselves. */
    readonly until: number,
    reason: string,
  ) {
    super(
      `${memory === 'replay' ? 'single-use' : 'revocation'} memory lost (${reason}); refusing until ${iso(until)} or an operator's confirm-reset`,
    );
  }

  /** Seconds until checks resume, for Retry-After. */
  retryAfter(now = clock.ms() / 1000): number {
    return Math.max(1, Math.ceil(this.until - now));
  }
}

/** What readiness reports about the store's memory. */
export interface StoreMemoryHealth {
  readonly memory: 'intact' | 'lost' | 'unknown';
  readonly lost_at?: string;
  readonly reason?: string;
  /** While lost: when replay-sensitive and revocation-sensitive requests are served again. */
  readonly replay_checks_resume_at?: string;
  readonly revocation_checks_resume_at?: string;
}

/**
 * Notices when the shared store has lost its memory, and keeps this instance from trusting it until
 * every entry it could have lost would have expired anyway (StoreWindows) or an operator confirms.
 *
 * On every (re)connect, and whenever a command finds the marker changed, the marker is read:
 *  - absent, while this process had seen one: the data is gone. A new marker records the loss
 *    (`lost_at` = now), so every instance, including ones started later, refuses from the same time.
 *  - absent at this process's first read: a new store, or one emptied while no instance watched. The
 *    store cannot say which, so the loss is dated at Redis's start (INFO uptime): a Redis up longer
 *    than the windows is trusted at once, a younger one only once the windows have passed since it
 *    started (or on confirmation).
 *  - another epoch than the one seen, without a recorded loss or confirmation: recorded as a loss now.
 *  - keys evicted since this process last looked (INFO `evicted_keys`; maxmemory with a policy other
 *    than noeviction): recorded as a loss now. Evictions are not seen atomically with a command, but by
 *    the next read (RedisConnection reads at least once a second).
 * Commands compare the marker atomically with their own work (Lua), so an entry written to or read
 * from a store that lost its memory since the last read is never trusted.
 */
export class StoreEpoch {
  private raw: string | undefined;
  private marker: EpochMarker | undefined;
  /** Epoch seconds until which each memory is distrusted; 0 when it is trusted. */
  private readonly until: Record<StoreMemory, number> = { replay: 0, revocation: 0 };
  private reading: Promise<void> | undefined;
  private lastRead = 0;
  /** The store's `evicted_keys` when this process last looked; undefined before the first look. */
  private evicted: number | undefined;
  /** The eviction policy last warned about; undefined while the store cannot evict. */
  private evictingPolicy: string | undefined;
  private readonly logger = new Logger('Stores');

  constructor(
    private readonly redis: Redis,
    private readonly windows: StoreWindows = DEFAULT_STORE_WINDOWS,
    readonly key = EPOCH_KEY,
    private readonly now: () => number = () => clock.ms() / 1000,
  ) {}

  /**
   * The marker value commands must find for `memory` to be trusted; throws StoreMemoryLostError while
   * it is not. Reads the marker first if this process has not yet (and, while refusing, at most once
   * a second, to see an operator's confirmation).
   */
  async expect(memory: StoreMemory): Promise<string> {
    if (this.raw === undefined) await this.read();
    if (this.refusal(memory) && this.now() - this.lastRead >= 1) await this.read();
    const refusal = this.refusal(memory);
    if (refusal) throw refusal;
    return this.raw!;
  }

  /** Reads the marker and settles what it says (concurrent callers share one read). */
  read(): Promise<void> {
    this.reading ??= this.reconcile().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  health(): StoreMemoryHealth {
    if (!this.marker) return { memory: 'unknown' };
    if (!this.refusal('replay') && !this.refusal('revocation')) return { memory: 'intact' };
    return {
      memory: 'lost',
      lost_at: iso(this.marker.lost_at!),
      ...(this.marker.reason === undefined ? {} : { reason: this.marker.reason }),
      replay_checks_resume_at: iso(this.marker.lost_at! + this.windows.replay.seconds),
      revocation_checks_resume_at: iso(this.marker.lost_at! + this.windows.revocation.seconds),
    };
  }

  private refusal(memory: StoreMemory): StoreMemoryLostError | undefined {
    const until = this.until[memory];
    if (until === 0) return undefined;
    if (this.now() < until) return new StoreMemoryLostError(memory, until, this.marker?.reason ?? 'store data lost');
    this.until[memory] = 0;
    this.logger.log(
      `the ${memory === 'replay' ? 'single-use' : 'revocation'} window since the store lost its memory has passed: ${memory} checks resume`,
    );
    return undefined;
  }

  private async reconcile(): Promise<void> {
    // A few rounds at most: each lost race means another instance just wrote the marker.
    for (let round = 0; round < 3; round++) {
      const raw = await this.redis.get(this.key);
      let settled = raw === null ? await this.create(await this.lostAtForMissing()) : await this.check(raw);
      if (settled === undefined) continue;
      // An evicted key is a forgotten jti or revocation, though the marker (kept by LRU/LFU, or without
      // expiry under volatile-*) survives: evictions count as a loss, recorded for every instance.
      const evicted = await this.evictions();
      if (evicted) {
        settled = await this.replace(settled, evicted.reason);
        if (settled === undefined) continue;
        this.evicted = evicted.count;
      }
      this.adopt(settled);
      return;
    }
    throw new Error('the epoch marker keeps changing');
  }

  /**
   * Evictions since this process last looked (INFO `evicted_keys`), and the policy's warning; undefined
   * when there were none, at the first look (the baseline), or when INFO cannot be read.
   */
  private async evictions(): Promise<{ count: number; reason: string } | undefined> {
    let info: string;
    try {
      info = await this.redis.info();
    } catch {
      return undefined;
    }
    const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
    const maxmemory = Number(/^maxmemory:(\d+)/m.exec(info)?.[1] ?? 0);
    const evicting = policy !== undefined && policy !== 'noeviction' && maxmemory > 0 ? policy : undefined;
    if (evicting !== this.evictingPolicy) {
      this.evictingPolicy = evicting;
      if (evicting) {
        this.logger.warn(
          `the store may evict keys (maxmemory ${maxmemory}, maxmemory-policy ${evicting}): an eviction is counted as a ` +
            'loss of its memory (replay- and revocation-sensitive requests refused); set maxmemory-policy noeviction',
        );
      }
    }
    const match = /^evicted_keys:(\d+)/m.exec(info);
    if (!match) return undefined;
    const count = Number(match[1]);
    const before = this.evicted;
    if (before === undefined || count <= before) {
      this.evicted = count; // the first look, or counters reset (CONFIG RESETSTAT, a restart: the marker tells)
      return undefined;
    }
    return {
      count,
      reason: `the store evicted ${count - before} key(s): set maxmemory-policy noeviction`,
    };
  }

  /** Replaces the marker `raw` by one recording a loss now; undefined if it changed meanwhile. */
  private async replace(raw: string, reason: string): Promise<string | undefined> {
    const marker: EpochMarker = { epoch: randomUUID(), lost_at: Math.floor(this.now()), reason };
    const value = JSON.stringify(marker);
    return (await this.redis.eval(REPLACE_IF_UNCHANGED, 1, this.key, raw, value)) === 1 ? value : undefined;
  }

  /** When the data of a store without marker may have been lost. */
  private async lostAtForMissing(): Promise<{ at: number; reason: string }> {
    if (this.raw !== undefined) {
      return {
        at: this.now(),
        reason: 'the store lost its data (epoch marker gone: restarted without persistence, or flushed)',
      };
    }
    const started = await this.redisStartedAt();
    return started === undefined
      ? { at: this.now(), reason: 'no epoch marker at first start, and Redis did not say when it started' }
      : { at: started, reason: 'no epoch marker at first start: a new or emptied store, dated at its start' };
  }

  private async redisStartedAt(): Promise<number | undefined> {
    try {
      const uptime = /^uptime_in_seconds:(\d+)/m.exec(await this.redis.info('server'));
      return uptime ? this.now() - Number(uptime[1]) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Creates a marker recording a loss; undefined if another instance created one first. */
  private async create(lost: { at: number; reason: string }): Promise<string | undefined> {
    const marker: EpochMarker = { epoch: randomUUID(), lost_at: Math.floor(lost.at), reason: lost.reason };
    const value = JSON.stringify(marker);
    return (await this.redis.set(this.key, value, 'NX')) === 'OK' ? value : undefined;
  }

  /** The marker to adopt for `raw`; undefined if it changed while being updated. */
  private async check(raw: string): Promise<string | undefined> {
    const found = parseMarker(raw);
    const known = this.marker;
    if (found && (!known || found.epoch === known.epoch || found.lost_at !== null || found.confirmed_at)) return raw;
    // Another epoch that records neither a loss nor a confirmation, or not a marker at all: this is not
    // the store this process knew.
    return this.replace(
      raw,
      found ? 'the store was replaced (another epoch marker)' : 'the epoch marker is unreadable',
    );
  }

  private adopt(raw: string): void {
    this.lastRead = this.now();
    if (raw === this.raw) return;
    this.raw = raw;
    const marker = parseMarker(raw)!;
    this.marker = marker;
    const wasRefusing = this.until.replay !== 0 || this.until.revocation !== 0;
    for (const memory of ['replay', 'revocation'] as const) {
      const until = marker.lost_at === null ? 0 : marker.lost_at + this.windows[memory].seconds;
      this.until[memory] = until > this.now() ? until : 0;
    }
    if (this.until.replay !== 0 || this.until.revocation !== 0) {
      const lost = `store memory lost at ${iso(marker.lost_at!)} (${marker.reason ?? 'store data lost'})`;
      const refusals = (['replay', 'revocation'] as const)
        .filter((memory) => this.until[memory] !== 0)
        .map(
          (memory) =>
            `${memory}-sensitive requests refused (503) until ${iso(this.until[memory])} ` +
            `(${memory === 'replay' ? 'longest single-use window' : 'revocation window'} ${this.windows[memory].seconds} s: ${this.windows[memory].basis})`,
        );
      this.logger.warn(
        `${lost}: ${refusals.join('; ')}. \`npm run store -- confirm-reset\` resumes them at once; ` +
          'give the store persistence (appendonly yes).',
      );
    } else if (marker.confirmed_at !== undefined && wasRefusing) {
      this.logger.log(
        `store memory confirmed by an operator at ${iso(marker.confirmed_at)}${marker.note ? ` (${marker.note})` : ''}: ` +
          'single-use and revocation checks in use',
      );
    } else if (wasRefusing) {
      this.logger.log('store memory no longer in doubt: single-use and revocation checks resume');
    }
  }
}

/** KEYS[1] the marker; ARGV[1] the value it must still have; ARGV[2] the new value. */
const REPLACE_IF_UNCHANGED = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1`;

export function parseMarker(raw: string): EpochMarker | undefined {
  try {
    const value = JSON.parse(raw) as Partial<EpochMarker>;
    if (typeof value.epoch !== 'string' || (value.lost_at !== null && typeof value.lost_at !== 'number'))
      return undefined;
    return value as EpochMarker;
  } catch {
    return undefined;
  }
}

/**
 * An operator's confirmation that the store may have lost entries and checks should resume: the
 * marker keeps its epoch (instances that know it stop refusing at their next read) and records who
 * and why.
 */
export async function confirmStoreReset(redis: Redis, note: string, key = EPOCH_KEY): Promise<EpochMarker> {
  const current = parseMarker((await redis.get(key)) ?? '');
  const marker: EpochMarker = {
    epoch: current?.epoch ?? randomUUID(),
    lost_at: null,
    confirmed_at: clock.seconds(),
    note,
  };
  await redis.set(key, JSON.stringify(marker));
  return marker;
}

function iso(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString();
}
