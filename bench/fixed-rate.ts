import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ResponseStats } from './load.js';
import { median, openLoop, quantile, type OpenLoopOutcome, type OpenLoopPlan } from './open-loop.js';
import type { RequestStream } from './paths.js';

/**
 * An open-loop run: each latency measured from when its request was due (not when it was sent); errors
 * are connection errors, and requests unanswered when the run's grace period ended.
 */
export interface FixedRateStats extends ResponseStats {
  /** The rate asked for, requests per second. */
  readonly targetRate: number;
  /** Responses per second actually completed over the run. */
  readonly achievedRate: number;
  /** How late the generator wrote its requests (ms after they were due), p99: its own share of every latency. */
  readonly sendLagP99: number;
}

/**
 * An open loop: requests are sent at a fixed rate whatever the server's responses do (a new connection
 * is opened when every open one is busy), as independent callers arrive. A closed loop of N
 * connections at saturation mostly measures its own queue; this measures what a caller feels at a
 * given load. Each latency counts from when the request was due, so a late send (the generator
 * falling behind) is charged to the result, not hidden (coordinated omission); the generator's own
 * lateness is reported beside it.
 *
 * The bodies are drawn from `stream` first; the generator then runs in a process of its own
 * (open-loop-main.ts) unless `inProcess`, so that the harness's garbage collection (its heap holds every
 * path's pools) never stalls a send or a receive.
 */
export async function fixedRate(
  stream: RequestStream,
  rate: number,
  durationSec: number,
  cpuSeconds: () => number | undefined = () => undefined,
  { inProcess = false }: { inProcess?: boolean } = {},
): Promise<FixedRateStats> {
  const total = Math.max(1, Math.round(rate * durationSec));
  const plan: OpenLoopPlan = {
    url: stream.url,
    headers: stream.headers,
    bodies: Array.from({ length: total }, () => stream.next()),
    rate,
  };
  let cpuBefore: number | undefined;
  let outcome: OpenLoopOutcome;
  if (inProcess) {
    cpuBefore = cpuSeconds();
    outcome = await openLoop(plan);
  } else {
    outcome = await inChildProcess(plan, () => (cpuBefore = cpuSeconds()));
  }
  const cpuAfter = cpuSeconds();
  const answered = outcome.latencies.length;
  return {
    targetRate: rate,
    achievedRate: answered / outcome.elapsedSec,
    p50: quantile(outcome.latencies, 0.5),
    p99: quantile(outcome.latencies, 0.99),
    sendLagP99: quantile(outcome.sendLags, 0.99),
    requests: answered,
    non2xx: outcome.non2xx,
    errors: outcome.errors,
    cpuPerRequestUs:
      cpuBefore === undefined || cpuAfter === undefined ? NaN : ((cpuAfter - cpuBefore) * 1e6) / Math.max(1, answered),
  };
}

/** Runs `plan` in a forked open-loop-main.js; `beforeStart` is called once the child is ready, just before it starts. */
function inChildProcess(plan: OpenLoopPlan, beforeStart: () => void): Promise<OpenLoopOutcome> {
  const child = fork(fileURLToPath(new URL('./open-loop-main.js', import.meta.url)), [], {
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    let outcome: OpenLoopOutcome | undefined;
    child.on('message', (message: 'ready' | OpenLoopOutcome) => {
      if (message === 'ready') {
        beforeStart();
        child.send('go');
      } else outcome = message;
    });
    child.once('error', reject);
    // 'close', not 'exit': it comes after the last message has been read.
    child.once('close', (code) =>
      outcome ? resolve(outcome) : reject(new Error(`the open-loop generator exited with ${code} before its outcome`)),
    );
    child.send(plan);
  });
}

export interface FixedRateResult {
  readonly runs: FixedRateStats[];
  /** Median of each figure over the runs; non2xx and errors are totals. */
  readonly median: FixedRateStats;
}

/** The median figures of several fixed-rate runs of one path. */
export function fixedRateResult(runs: FixedRateStats[]): FixedRateResult {
  const medianOf = (pick: (r: FixedRateStats) => number): number => median(runs.map(pick));
  return {
    runs,
    median: {
      targetRate: medianOf((r) => r.targetRate),
      achievedRate: medianOf((r) => r.achievedRate),
      p50: medianOf((r) => r.p50),
      p99: medianOf((r) => r.p99),
      requests: runs.reduce((n, r) => n + r.requests, 0),
      non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
      errors: runs.reduce((n, r) => n + r.errors, 0),
      cpuPerRequestUs: medianOf((r) => r.cpuPerRequestUs),
      sendLagP99: medianOf((r) => r.sendLagP99),
    },
  };
}
