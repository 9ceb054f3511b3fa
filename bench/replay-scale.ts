import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** What the memory replay store costs per call when it holds many live single-use keys. */
export interface ReplayScaleResult {
  /** Live keys held, their expiries spread evenly over an hour. */
  readonly liveKeys: number;
  /** Calls measured, one per millisecond of the store's clock, in ROUNDS rounds. */
  readonly calls: number;
  /** The median of the rounds' longest calls, ms: what one request paid at most, a stray pause aside. */
  readonly longestMs: number;
  /** The longest call of all rounds, ms. */
  readonly worstMs: number;
  /** The mean call, µs. */
  readonly meanUs: number;
}

const WINDOW_SECONDS = 3600;
/** Rounds of the calls: with 3,600 calls, each round spans 1.2 s of the store's clock and so one turn of a second. */
const ROUNDS = 3;

/**
 * The in-process replay store (`dist/`) holding `liveKeys` keys, as an instance serving single-use
 * tokens (SAML assertions, client assertions, DPoP proofs) at a few hundred per second for an hour
 * would hold them; then `calls` new keys consumed in ROUNDS rounds, the store's clock moving 1 ms per call.
 * The longest call of a round shows whether forgetting what expires ever lands on one request; the median
 * of the rounds' keeps a pause of the harness process (a collection, the machine) out of the verdict.
 */
export async function measureReplayScale(root: string, liveKeys: number, calls: number): Promise<ReplayScaleResult> {
  const { MemoryReplayStore } = await import(join(root, 'dist', 'stores', 'memory-replay-store.js'));
  let now = Math.floor(Date.now() / 1000);
  const store = new MemoryReplayStore(() => now);
  const prefix = 'bench-0123456789abcdef-'; // about a SAML assertion ID's or a jti's length
  for (let i = 0; i < liveKeys; i++) await store.consume(`${prefix}${i}`, now + 1 + (i % WINDOW_SECONDS));
  // The fill's garbage collected now, not in a measured call: a running instance's heap has settled too.
  fullCollection();
  const longest: number[] = [];
  let total = 0;
  const perRound = Math.ceil(calls / ROUNDS);
  for (let i = 0; i < calls; i++) {
    now += 0.001;
    const started = performance.now();
    const fresh = await store.consume(`${prefix}new-${i}`, now + WINDOW_SECONDS);
    const took = performance.now() - started;
    if (!fresh) throw new Error(`replay-scale: a new key was refused as a replay (call ${i})`);
    const round = Math.floor(i / perRound);
    longest[round] = Math.max(longest[round] ?? 0, took);
    total += took;
  }
  const sorted = [...longest].sort((a, b) => a - b);
  return {
    liveKeys,
    calls,
    longestMs: sorted[Math.floor(sorted.length / 2)]!,
    worstMs: sorted[sorted.length - 1]!,
    meanUs: (1000 * total) / calls,
  };
}

/** A full garbage collection, without starting the harness with --expose-gc. */
function fullCollection(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}
