import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The one clock: everything that compares a time with "now" reads it here. The policy tools replay a
 * decision "as of" a moment (`--at`) by running it under `clock.at`, through the very code the server
 * runs; nothing else changes (no global Date is replaced).
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  ms(): number;
  /** Whole seconds since the epoch (JWT NumericDate). */
  seconds(): number;
  date(): Date;
}

const fixed = new AsyncLocalStorage<number>();

export const clock: Clock & {
  /** Runs `fn` with every read of this clock inside it (and its awaits) fixed at `ms`. */
  at<T>(ms: number, fn: () => Promise<T>): Promise<T>;
} = {
  ms: () => fixed.getStore() ?? Date.now(),
  seconds: () => Math.floor(clock.ms() / 1000),
  date: () => new Date(clock.ms()),
  at: (ms, fn) => fixed.run(ms, fn),
};
