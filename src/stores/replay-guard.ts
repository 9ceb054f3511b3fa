import { TemporarilyUnavailable, type OAuthError } from '../oauth/oauth-error.js';
import type { ReplayStore } from './replay-store.js';
import { StoreMemoryLostError } from './store-epoch.js';

/**
 * `store.consume()` for a check that must not be skipped: if the store cannot answer (Redis down or
 * slow past REDIS_TIMEOUT_MS, or it lost its memory), single use cannot be guaranteed, so the request
 * fails closed with 503 `temporarily_unavailable` instead of being let through. `what` names the
 * identifier for the caller.
 */
export async function consumeOnce(store: ReplayStore, key: string, expiresAt: number, what: string): Promise<boolean> {
  try {
    return await store.consume(key, expiresAt);
  } catch (error) {
    throw storeUnavailable(`cannot verify ${what} single use right now (replay store unavailable); retry later`, error);
  }
}

/**
 * The 503 for a check the shared store cannot answer now. The caller reads `description`; what went
 * wrong (the store's error, or since when its memory is in doubt) is the operator's, in `detail`.
 * While the store's memory is in doubt, Retry-After says when checks resume by themselves.
 */
export function storeUnavailable(description: string, error: unknown, store = 'replay store'): OAuthError {
  if (error instanceof StoreMemoryLostError) {
    return new TemporarilyUnavailable(description, {
      detail: `${store}: ${error.message}`,
      headers: { 'retry-after': String(error.retryAfter()) },
      cause: error,
    });
  }
  return new TemporarilyUnavailable(description, {
    detail: `${store} error: ${error instanceof Error ? error.message : String(error)}`,
    cause: error,
  });
}
