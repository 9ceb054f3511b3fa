/**
 * Remembers single-use identifiers (client assertion `jti`s) until they expire. `consume` is atomic:
 * of several concurrent calls with the same key, across instances when the store is shared, exactly
 * one returns true.
 */
export interface ReplayStore {
  /** Records `key` as used until `expiresAt` (epoch seconds). False if it was already used. */
  consume(key: string, expiresAt: number): Promise<boolean>;
  close?(): Promise<void>;
}

export const REPLAY_STORE = Symbol('REPLAY_STORE');
