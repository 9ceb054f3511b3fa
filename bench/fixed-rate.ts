import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { ResponseStats } from './load.js';
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
}

/** How long responses still outstanding at the end of a run are waited for. */
const GRACE_MS = 5000;

/**
 * An open loop: requests are sent at a fixed rate whatever the server's responses do (a new connection
 * is opened when every open one is busy), as independent callers arrive. A closed loop of N
 * connections at saturation mostly measures its own queue; this measures what a caller feels at a
 * given load. Each latency counts from when the request was due, so a late send (the generator or
 * the connection pool falling behind) is charged to the result, not hidden (coordinated omission).
 */
export async function fixedRate(
  stream: RequestStream,
  rate: number,
  durationSec: number,
  cpuSeconds: () => number | undefined = () => undefined,
): Promise<FixedRateStats> {
  const url = new URL(stream.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 1024 });
  const total = Math.max(1, Math.round(rate * durationSec));
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  let done = 0;
  let allDone: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (allDone = resolve));
  const settle = (): void => {
    if (++done === total) allDone();
  };
  const send = (due: number): void => {
    const body = stream.next();
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { ...stream.headers, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          latencies.push(performance.now() - due);
          if (res.statusCode! < 200 || res.statusCode! >= 300) non2xx++;
          settle();
        });
      },
    );
    req.on('error', () => {
      errors++;
      settle();
    });
    req.end(body);
  };
  const cpuBefore = cpuSeconds();
  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    const elapsed = performance.now() - start;
    const due = Math.min(total, Math.floor((elapsed * rate) / 1000) + 1);
    for (; sent < due; sent++) send(start + (sent * 1000) / rate);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const timer = setTimeout(allDone, GRACE_MS);
  await finished;
  clearTimeout(timer);
  const elapsedSec = (performance.now() - start) / 1000;
  const cpuAfter = cpuSeconds();
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pick = (q: number): number =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  const answered = latencies.length;
  return {
    targetRate: rate,
    achievedRate: answered / elapsedSec,
    p50: pick(0.5),
    p99: pick(0.99),
    requests: answered,
    non2xx,
    errors: errors + (total - done),
    cpuPerRequestUs:
      cpuBefore === undefined || cpuAfter === undefined ? NaN : ((cpuAfter - cpuBefore) * 1e6) / Math.max(1, answered),
  };
}

export interface FixedRateResult {
  readonly runs: FixedRateStats[];
  /** Median of each figure over the runs; non2xx and errors are totals. */
  readonly median: FixedRateStats;
}

/** The median figures of several fixed-rate runs of one path. */
export function fixedRateResult(runs: FixedRateStats[]): FixedRateResult {
  const median = (pick: (r: FixedRateStats) => number): number => {
    const sorted = runs.map(pick).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  };
  return {
    runs,
    median: {
      targetRate: median((r) => r.targetRate),
      achievedRate: median((r) => r.achievedRate),
      p50: median((r) => r.p50),
      p99: median((r) => r.p99),
      requests: runs.reduce((n, r) => n + r.requests, 0),
      non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
      errors: runs.reduce((n, r) => n + r.errors, 0),
      cpuPerRequestUs: median((r) => r.cpuPerRequestUs),
    },
  };
}
