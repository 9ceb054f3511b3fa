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

/** The replay store, each `consume` timed and its failures counted (metrics). */
export function observedReplayStore(store: ReplayStore, observer: StoreObserver): ReplayStore {
  return {
    consume: (key, expiresAt) => timed(observer, 'replay', 'consume', () => store.consume(key, expiresAt)),
    ...(store.close ? { close: () => store.close!() } : {}),
    ...(store.health ? { health: () => store.health!() } : {}),
  };
}

/** The revocation store, each command timed and its failures counted (metrics). */
export function observedRevocationStore(store: RevocationStore, observer: StoreObserver): RevocationStore {
  return {
    revoke: (jti, expiresAt) => timed(observer, 'revocation', 'revoke', () => store.revoke(jti, expiresAt)),
    revokeMany: (revocations) => timed(observer, 'revocation', 'revoke_many', () => store.revokeMany(revocations)),
    isRevoked: (jti) => timed(observer, 'revocation', 'is_revoked', () => store.isRevoked(jti)),
    list: () => timed(observer, 'revocation', 'list', () => store.list()),
    version: () => timed(observer, 'revocation', 'version', () => store.version()),
    ...(store.close ? { close: () => store.close!() } : {}),
  };
}

/** The lineage store, each command timed and its failures counted (metrics). */
export function observedLineageStore(store: LineageStore, observer: StoreObserver): LineageStore {
  return {
    record: (entry, known) => timed(observer, 'lineage', 'record', () => store.record(entry, known)),
    inspect: (keys) => timed(observer, 'lineage', 'inspect', () => store.inspect(keys)),
    entries: (jtis) => timed(observer, 'lineage', 'entries', () => store.entries(jtis)),
    children: (keys) => timed(observer, 'lineage', 'children', () => store.children(keys)),
    ...(store.close ? { close: () => store.close!() } : {}),
  };
}
