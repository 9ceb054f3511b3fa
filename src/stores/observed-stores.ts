import type { StoreObserver } from '../observability/metrics.js';
import type { ReplayStore } from './replay-store.js';
import type { RevocationStore } from './revocation-store.js';

/** Times `run` and reports it; a rejection counts as an error (the request fails closed on it). */
async function timed<T>(
  observer: StoreObserver,
  store: 'replay' | 'revocation',
  operation: string,
  run: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  try {
    const result = await run();
    observer.operation(store, operation, (performance.now() - started) / 1000, false);
    return result;
  } catch (error) {
    observer.operation(store, operation, (performance.now() - started) / 1000, true);
    throw error;
  }
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
    isRevoked: (jti) => timed(observer, 'revocation', 'is_revoked', () => store.isRevoked(jti)),
    ...(store.close ? { close: () => store.close!() } : {}),
  };
}
