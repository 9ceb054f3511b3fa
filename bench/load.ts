import autocannon from 'autocannon';
import { generatorCpuSeconds } from './machine-share.js';
import { median, quantile } from './open-loop.js';
import type { RequestStream } from './paths.js';

export interface LoadSettings {
  readonly connections: number;
  readonly warmupSec: number;
  readonly durationSec: number;
  readonly runs: number;
}

/** The figures every kind of load run reports, closed loop (RunStats) or open (FixedRateStats). */
export interface ResponseStats {
  /** Latency percentiles, ms. */
  readonly p50: number;
  readonly p99: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
  /**
   * CPU time the server process spent per request, µs (all its threads, so WebCrypto's thread-pool work
   * counts too). Much less sensitive than req/s to other load on the machine: compare optimisations with it.
   */
  readonly cpuPerRequestUs: number;
}

/**
 * A closed-loop run: p50/p99 over every response (recorded exactly, not autocannon's 1 ms buckets);
 * errors are connection errors and timeouts.
 */
export interface RunStats extends ResponseStats {
  readonly requestsPerSec: number;
  /**
   * The load generator's CPU per response, µs: this process's main thread, where autocannon runs. It
   * shares the machine's cores with the server (NaN off Linux).
   */
  readonly generatorCpuPerRequestUs: number;
  /** Redis's own CPU per response, µs, for a server run with REDIS_URL (NaN for the others). */
  readonly storeCpuPerRequestUs: number;
}

/** What a closed-loop run reads before and after it, besides its responses. */
export interface RunMeters {
  /** The server's CPU so far (its process tree), seconds. */
  readonly server: () => number | undefined;
  /** The Redis the server uses: its CPU so far, µs (INFO cpu). */
  readonly store?: () => Promise<number>;
}

const NO_METERS: RunMeters = { server: () => undefined };

export interface PathResult {
  readonly runs: RunStats[];
  /** Median of each figure over the runs; non2xx and errors are totals over every run. */
  readonly median: RunStats;
}

/** One autocannon run (autocannon used as a library, in this process). */
export async function loadOnce(
  stream: RequestStream,
  connections: number,
  durationSec: number,
  meters: RunMeters = NO_METERS,
  /** A number of requests instead of a duration. */
  amount?: number,
): Promise<RunStats> {
  const url = new URL(stream.url);
  const storeBefore = await meters.store?.();
  const generatorBefore = generatorCpuSeconds();
  const cpuBefore = meters.server();
  const latencies: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: url.origin,
        connections,
        duration: durationSec,
        ...(amount === undefined ? {} : { amount }),
        requests: [
          {
            method: 'POST',
            path: url.pathname,
            headers: stream.headers,
            setupRequest: (request) => ({ ...request, body: stream.next() }),
          },
        ],
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      latencies.push(responseTime);
    });
  });
  const cpuAfter = meters.server();
  const generatorAfter = generatorCpuSeconds();
  const storeAfter = await meters.store?.();
  latencies.sort((a, b) => a - b);
  // Every response counted as it arrives: autocannon's requests.total sums per-second samples, and a
  // run of a second or so can end before its first sample is taken (0 requests reported).
  const requests = latencies.length;
  return {
    requestsPerSec: requests / result.duration,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    requests,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    cpuPerRequestUs:
      cpuBefore === undefined || cpuAfter === undefined ? NaN : ((cpuAfter - cpuBefore) * 1e6) / requests,
    generatorCpuPerRequestUs:
      generatorBefore === undefined || generatorAfter === undefined
        ? NaN
        : ((generatorAfter - generatorBefore) * 1e6) / requests,
    storeCpuPerRequestUs:
      storeBefore === undefined || storeAfter === undefined ? NaN : (storeAfter - storeBefore) / requests,
  };
}

/**
 * One path under measurement: `warmUp` once, then `measure` once per round. Rounds take every path in
 * turn (see run.ts), so each path's runs are spread over the whole bench and the ratios between paths
 * are taken over the same stretches of machine time: the machine is shared, and its speed drifts by
 * ±30 % over minutes, which would otherwise land on whichever path ran during a slow stretch.
 *
 * Each phase gets its `reserve` first, sized from the path's own rate in the phases before (its best, ×2, +500: other paths run in between, and the machine's speed drifts).
 * For a stream with `reserve`, the warm-up starts with a calibration of a fixed number of requests (so
 * its pool cannot run out) to learn that rate: pre-signed pools then match the path, from ~300/s
 * (SAML) to ~9,000/s.
 */
export class PathMeasurement {
  private rate = 0;
  readonly runs: RunStats[] = [];

  constructor(
    private readonly stream: RequestStream,
    private readonly settings: LoadSettings,
    private readonly meters: RunMeters,
  ) {}

  /** Calibration (streams with pools) and the warm-up: not reported. */
  async warmUp(): Promise<void> {
    const { stream, settings } = this;
    if (stream.reserve) {
      const calibration = settings.connections * 20;
      // A margin: autocannon may prepare a request per connection beyond `amount`.
      await stream.reserve(calibration + settings.connections * 2);
      this.rate = (await loadOnce(stream, settings.connections, 1, this.meters, calibration)).requestsPerSec;
    }
    if (settings.warmupSec > 0) {
      await this.reserve(settings.warmupSec);
      this.rate = (await loadOnce(stream, settings.connections, settings.warmupSec, this.meters)).requestsPerSec;
    }
  }

  /** One measured run. */
  async measure(): Promise<RunStats> {
    const { stream, settings } = this;
    await this.reserve(settings.durationSec);
    const stats = await loadOnce(stream, settings.connections, settings.durationSec, this.meters);
    this.rate = Math.max(this.rate, stats.requestsPerSec);
    this.runs.push(stats);
    return stats;
  }

  result(): PathResult {
    const { runs } = this;
    return {
      runs,
      median: {
        requestsPerSec: median(runs.map((r) => r.requestsPerSec)),
        p50: median(runs.map((r) => r.p50)),
        p99: median(runs.map((r) => r.p99)),
        requests: runs.reduce((n, r) => n + r.requests, 0),
        non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
        errors: runs.reduce((n, r) => n + r.errors, 0),
        cpuPerRequestUs: median(runs.map((r) => r.cpuPerRequestUs)),
        generatorCpuPerRequestUs: median(runs.map((r) => r.generatorCpuPerRequestUs)),
        storeCpuPerRequestUs: median(runs.map((r) => r.storeCpuPerRequestUs)),
      },
    };
  }

  private async reserve(seconds: number): Promise<void> {
    await this.stream.reserve?.(Math.ceil(this.rate * seconds * 2) + 500);
  }
}
