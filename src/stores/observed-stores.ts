import type { StoreName, StoreObserver } from '../observability/metrics.js';
import type { LineageStore } from './lineage-store.js';
import type { ReplayStore } from './replay-store.js';
import type { RevocationStore } from './revocation-store.js';

/** Times `run` and reports it; a rejection counts as an error (the request fails closed on it). */
function timed<T>(observer: StoreObserver, store: StoreName, operation: string, run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const done = (failed: boolean) => observer.operation(store, operation, (performance.now() - started) / 1000, failed);
  let result: Promise<T>;
  try {
    result = run();
  } catch (error) {
    done(true);
    return Promise.reject(error);
  }
  // then() rather than an async function: one promise per store command on the request path.
  return result.then(
    (value) => {
      done(false);
      return value;
    },
    (error: unknown) => {
      done(true);
      throw error;
    },
  );
}

/** Store methods passed through untimed, where the store has them. */
type Untimed = 'close' | 'health';

type Command = (...args: unknown[]) => Promise<unknown>;

/**
 * `store` with each command timed and its failures counted (metrics): `operations` gives every
 * command's `operation` label, or null for one passed through untimed (one whose time is its caller's
 * work); `close` and `health` pass through untimed when the store has them.
 */
export function observed<Store extends object>(
  store: Store,
  observer: StoreObserver,
  name: StoreName,
  operations: Record<Exclude<keyof Store, Untimed>, string | null>,
): Store {
  const commands = store as unknown as Record<string, Command | undefined>;
  const wrapped: Record<string, Command> = {};
  for (const [method, operation] of Object.entries<string | null>(operations)) {
    wrapped[method] =
      operation === null
        ? (...args) => commands[method]!(...args)
        : (...args) => timed(observer, name, operation, () => commands[method]!(...args));
  }
  for (const method of ['close', 'health'] satisfies Untimed[]) {
    if (commands[method]) wrapped[method] = () => commands[method]!();
  }
  return wrapped as unknown as Store;
}

export function observedReplayStore(store: ReplayStore, observer: StoreObserver): ReplayStore {
  return observed(store, observer, 'replay', { consume: 'consume' });
}

export function observedRevocationStore(store: RevocationStore, observer: StoreObserver): RevocationStore {
  return observed(store, observer, 'revocation', {
    revoke: 'revoke',
    revokeMany: 'revoke_many',
    beginWalk: 'begin_walk',
    endWalk: 'end_walk',
    pendingWalks: 'pending_walks',
    isRevoked: 'is_revoked',
    list: 'list',
    version: 'version',
  });
}

export function observedLineageStore(store: LineageStore, observer: StoreObserver): LineageStore {
  return observed(store, observer, 'lineage', {
    record: 'record',
    inspect: 'inspect',
    entries: 'entries',
    children: 'children',
  });
}
