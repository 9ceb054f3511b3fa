import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** What the memory replay store costs per call when it holds many live single-use keys. */
export interface ReplayScaleResult {
  /** Live keys held, their expiries spread evenly over an hour. */
  readonly liveKeys: number;
  /** Calls measured, one per millisecond of the store's clock (so a few seconds of expiries fall due). */
  readonly calls: number;
  /** The longest call, ms: what one request paid at most. */
  readonly longestMs: number;
  /** The mean call, µs. */
  readonly meanUs: number;
}

const WINDOW_SECONDS = 3600;

/**
 * The in-process replay store (`dist/`) holding `liveKeys` keys, as an instance serving single-use
 * tokens (SAML assertions, client assertions, DPoP proofs) at a few hundred per second for an hour
 * would hold them; then `calls` new keys consumed, the store's clock moving 1 ms per call. The
 * longest call shows whether forgetting what expires ever lands on one request.
 */
export async function measureReplayScale(root: string, liveKeys: number, calls: number): Promise<ReplayScaleResult> {
  const { MemoryReplayStore } = await import(join(root, 'dist', 'stores', 'memory-replay-store.js'));
  let now = Math.floor(Date.now() / 1000);
  const store = new MemoryReplayStore(() => now);
  const prefix = 'bench-0123456789abcdef-'; // about a SAML assertion ID's or a jti's length
  for (let i = 0; i < liveKeys; i++) await store.consume(`${prefix}${i}`, now + 1 + (i % WINDOW_SECONDS));
  // The fill's garbage collected now, not in a measured call: a running instance's heap has settled too.
  fullCollection();
  let longest = 0;
  let total = 0;
  for (let i = 0; i < calls; i++) {
    now += 0.001;
    const started = performance.now();
    const fresh = await store.consume(`${prefix}new-${i}`, now + WINDOW_SECONDS);
    const took = performance.now() - started;
    if (!fresh) throw new Error(`replay-scale: a new key was refused as a replay (call ${i})`);
    longest = Math.max(longest, took);
    total += took;
  }
  return { liveKeys, calls, longestMs: longest, meanUs: (1000 * total) / calls };
}

/** A full garbage collection, without starting the harness with --expose-gc. */
function fullCollection(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}
