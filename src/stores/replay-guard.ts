import { TemporarilyUnavailable } from '../oauth-errors/oauth-error.js';
import type { ReplayStore } from './replay-store.js';

/**
 * `store.consume()` for a check that must not be skipped: if the store cannot answer (Redis down or
 * slow past REDIS_TIMEOUT_MS), single use cannot be guaranteed, so the request fails closed with 503
 * `temporarily_unavailable` instead of being let through. `what` names the identifier for the caller.
 */
export async function consumeOnce(store: ReplayStore, key: string, expiresAt: number, what: string): Promise<boolean> {
  try {
    return await store.consume(key, expiresAt);
  } catch (error) {
    throw new TemporarilyUnavailable(
      `cannot verify ${what} single use right now (replay store unavailable); retry later`,
      {
        detail: `replay store error: ${error instanceof Error ? error.message : String(error)}`,
        cause: error,
      },
    );
  }
}
