import type { StoreMemoryHealth } from './store-epoch.js';

/** What readiness reports about the replay store. Never holds the store's URL or credentials. */
export interface ReplayStoreHealth extends Partial<StoreMemoryHealth> {
  readonly store: 'memory' | 'redis';
  /** lost: reachable, but it lost its memory and the windows since have not passed (StoreEpoch). */
  readonly status: 'up' | 'down' | 'lost';
  /** The connection's state (Redis: ready, connecting, reconnecting, end). */
  readonly connection?: string;
}

/**
 * Remembers single-use identifiers (client assertion `jti`s, single-use ID-JAGs and jwt-bearer
 * assertions) until they expire. `consume` is atomic:
 * of several concurrent calls with the same key, across instances when the store is shared, exactly
 * one returns true.
 */
export interface ReplayStore {
  /** Records `key` as used until `expiresAt` (epoch seconds). False if it was already used. */
  consume(key: string, expiresAt: number): Promise<boolean>;
  close?(): Promise<void>;
  /** Whether the store can answer now (bounded in time); for the readiness endpoint. */
  health?(): Promise<ReplayStoreHealth>;
}

export const REPLAY_STORE = Symbol('REPLAY_STORE');
