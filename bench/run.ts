import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { measureFloor, type FloorResult } from './floor.js';
import { fixedRate, fixedRateResult, type FixedRateResult, type FixedRateStats } from './fixed-rate.js';
import { generateEs256Key } from './jwt.js';
import { kidTest, type KidTestResult } from './kid-test.js';
import { PathMeasurement, type LoadSettings, type PathResult, type RunMeters } from './load.js';
import { redisCpuUs } from './machine-share.js';
import { basicClient, PATHS, type BenchEnv, type BenchPath, type RequestStream } from './paths.js';
import { consoleReport, machine, markdownResults, type BenchReport } from './report.js';
import { measureSamlCost, type SamlCostRow } from './saml-cost.js';
import { measureLineageCost, type LineageCostRow } from './lineage-cost.js';
import { measureReplayScale, type ReplayScaleResult } from './replay-scale.js';
import {
  countLines,
  freePort,
  redisReachable,
  ROOT,
  startActbridge,
  startMinimalPeer,
  type ActbridgeSettings,
  type ServerProcess,
} from './servers.js';
import { startUpstreamIssuer } from './upstream.js';

/**
 * `npm run bench`: the floor, the SAML verification cost by input, the minimal peer and every actbridge
 * path of PATHS, then the kid test; prints the tables and rewrites the results section of BENCHMARKS.md.
 *
 * Settings (environment): BENCH_DURATION (s per run, 5), BENCH_WARMUP (s, 3), BENCH_RUNS (3),
 * BENCH_CONNECTIONS (32), BENCH_ONLY (comma-separated path ids, plus `floor`, `saml-cost`, `lineage`, `replay-scale` and `kid`;
 * implies BENCH_NO_WRITE), BENCH_CPU_PROF (directory: run actbridge under --cpu-prof), BENCH_NO_WRITE=1,
 * BENCH_FIXED_RATE (path ids run open-loop at half their measured peak; default peer, jwt-jwt,
 * jwt-jwt-workers), BENCH_REDIS_URL (the workers instance's REDIS_URL, and the Redis the lineage cost is also measured
 * with; default redis://127.0.0.1:6379), BENCH_BASELINE (another build's dist/main.js, e.g. a worktree of an
 * earlier commit: adds the jwt-jwt-baseline and saml-jwt-baseline rows, that build serving JWT → JWT and SAML → JWT in the same rounds, which is
 * how a change is shown not to regress on a noisy machine; implies BENCH_NO_WRITE), BENCH_BASELINE_UNSET
 * (comma-separated variables left out of the baseline's environment: settings an older build refuses),
 * BENCH_BASELINE_ENV (comma-separated NAME=value settings added to the baseline's environment: with
 * BENCH_BASELINE=dist/main.js, this build under another setting, e.g. WORKERS=2), BENCH_NODE_FLAGS (node
 * flags for this build's instances, e.g. --trace-gc; their output goes to the instance's log in the run's
 * directory, kept with BENCH_KEEP_DIR=1), BENCH_BASELINE_NODE_FLAGS (the same for the baseline's instance,
 * so that a flag can be paired in either position), BENCH_RATE (req/s of every open-loop run instead of half of each
 * path's peak, so that a pair's tails are compared at one load; implies BENCH_NO_WRITE).
 */
const env = process.env;
const num = (name: string, fallback: number): number => (env[name] ? Number(env[name]) : fallback);
const settings: LoadSettings = {
  connections: num('BENCH_CONNECTIONS', 32),
  warmupSec: num('BENCH_WARMUP', 3),
  durationSec: num('BENCH_DURATION', 5),
  runs: num('BENCH_RUNS', 3),
};
const only = env.BENCH_ONLY ? new Set(env.BENCH_ONLY.split(',').map((s) => s.trim())) : undefined;
const wanted = (id: string): boolean => only === undefined || only.has(id);
/** actbridge's JWKS_COOLDOWN: set explicitly to its default so the kid test knows it. */
const JWKS_COOLDOWN = 30;
const FIXED_RATE_PATHS = (env.BENCH_FIXED_RATE ?? 'peer,jwt-jwt,jwt-jwt-workers').split(',').map((s) => s.trim());
const REDIS_URL = env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const FIXED_RATE = env.BENCH_RATE ? Number(env.BENCH_RATE) : undefined;
if (FIXED_RATE !== undefined && !(Number.isInteger(FIXED_RATE) && FIXED_RATE > 0)) {
  throw new Error(`BENCH_RATE: a whole number of requests per second above 0 (${env.BENCH_RATE})`);
}
const KID_TEST_REQUESTS = 1000;
/** The replay store at scale: an hour of single-use keys at about 280 a second, then 3.6 s of calls. */
const REPLAY_SCALE_KEYS = 1_000_000;
const REPLAY_SCALE_CALLS = 3600;

const log = (line: string): void => void process.stdout.write(`${line}\n`);

function commandLine(): string {
  const vars = Object.keys(env)
    .filter((name) => name.startsWith('BENCH_'))
    .sort()
    .map((name) => `${name}=${env[name]}`);
  return [...vars, 'npm run bench'].join(' ');
}

async function main(): Promise<void> {
  const loadAtStart = loadavg()[0]!;
  log(`actbridge benchmark — ${machine()}`);
  let floor: FloorResult | undefined;
  if (wanted('floor')) {
    const seconds = Math.min(2, settings.durationSec);
    log(`floor: ${settings.runs} × ${seconds} s each for jose and node:crypto ...`);
    floor = await measureFloor(seconds, settings.runs, ROOT);
    log(
      `  node:crypto ${floor.nodeCrypto.toFixed(0)}/s; jose ${floor.jose.toFixed(0)}/s (one at a time), ${floor.joseConcurrent.toFixed(0)}/s (32 in flight)`,
    );
  }
  let samlCost: SamlCostRow[] | undefined;
  if (wanted('saml-cost')) {
    // Short slices over many rounds: every input is measured throughout, not in one stretch of the day.
    const rounds = settings.runs * 3;
    log(`SAML verification cost: ${rounds} rounds of 0.4 s per input, in-process (dist/) ...`);
    samlCost = await measureSamlCost(ROOT, 0.4, rounds);
  }

  let lineageCost: LineageCostRow[] | undefined;
  if (wanted('lineage')) {
    const redisUrl = REDIS_URL;
    const reachable = await redisReachable(redisUrl);
    log(
      `lineage cost per exchange: in-process (dist/), memory store${reachable ? ` and Redis at ${redisUrl}` : ' (no Redis reachable)'} ...`,
    );
    lineageCost = await measureLineageCost(ROOT, 5000, reachable ? redisUrl : undefined);
    for (const row of lineageCost) {
      const heap =
        row.heapBytesPerToken === undefined ? '' : `, ${row.heapBytesPerToken.toFixed(0)} heap bytes per live token`;
      log(`  ${row.store}: ${row.cpuUs.toFixed(1)} µs CPU per exchange${heap}`);
    }
  }

  let replayScale: ReplayScaleResult | undefined;
  if (wanted('replay-scale')) {
    log(
      `memory replay store at scale: ${REPLAY_SCALE_KEYS} live keys, ${REPLAY_SCALE_CALLS} calls, in-process (dist/) ...`,
    );
    replayScale = await measureReplayScale(ROOT, REPLAY_SCALE_KEYS, REPLAY_SCALE_CALLS);
    log(
      `  longest call ${replayScale.longestMs.toFixed(2)} ms (median of rounds; of all ${replayScale.worstMs.toFixed(2)} ms), ` +
        `mean ${replayScale.meanUs.toFixed(1)} µs`,
    );
  }

  const baselineMain = env.BENCH_BASELINE;
  let paths = PATHS.filter((p) => wanted(p.id) && (p.server !== 'baseline' || baselineMain !== undefined));
  if (paths.some((p) => p.server === 'workers') && !(await redisReachable(REDIS_URL))) {
    log(`no Redis at ${REDIS_URL} (BENCH_REDIS_URL): the WORKERS rows are left out`);
    paths = paths.filter((p) => p.server !== 'workers');
  }
  // The in-process measurements above, with what the servers measured (nothing when no server is run).
  const reportOf = (measured: Pick<BenchReport, 'results' | 'fixedRate' | 'kid' | 'auditLines'>): BenchReport => ({
    command: commandLine(),
    settings,
    floor,
    samlCost,
    lineageCost,
    replayScale,
    ...measured,
    date: new Date(),
    load: [loadAtStart, loadavg()[0]!],
    cores: availableParallelism(),
  });
  if (paths.length === 0 && !wanted('kid')) {
    log(consoleReport(reportOf({ results: [], fixedRate: [], kid: undefined, auditLines: 0 })));
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'actbridge-bench-'));
  const upstream = await startUpstreamIssuer();
  const partner = await startUpstreamIssuer('partner-1');
  const [port, peerPort, workersPort, baselinePort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const actbridgeIssuer = `http://127.0.0.1:${port}`;
  const kidClient = basicClient('kid-test');
  const servers: ServerProcess[] = [];
  // Redis's own CPU, read around each run of a server that uses it (it takes the same cores).
  const storeMeters = new Map<string, Redis>();
  const storeMeter = (url: string | undefined): RunMeters['store'] => {
    if (!url) return undefined;
    const redis = storeMeters.get(url) ?? new Redis(url, { maxRetriesPerRequest: 1 });
    storeMeters.set(url, redis);
    return () => redisCpuUs(redis);
  };
  const results: Array<{ path: BenchPath; result: PathResult }> = [];
  const fixedRates: Array<{ path: BenchPath; result: FixedRateResult }> = [];
  let kid: KidTestResult | undefined;
  let auditLines = 0;
  try {
    // One actbridge configuration holding what every path needs.
    const clients = [kidClient.config];
    const anchors: Record<string, Record<string, unknown>> = {
      // No key source: found through the issuer's discovery metadata, like a real IdP.
      upstream: { issuer: upstream.issuer, audiences: [actbridgeIssuer] },
    };
    for (const path of PATHS) {
      const config = await path.config?.({ upstream, partner, actbridgeIssuer });
      clients.push(...((config?.clients ?? []) as (typeof clients)[number][]));
      Object.assign(anchors, config?.anchors);
    }
    mkdirSync(join(dir, 'trust-anchors'));
    for (const [name, content] of Object.entries(anchors))
      writeFileSync(join(dir, 'trust-anchors', `${name}.yaml`), stringify(content));
    writeFileSync(join(dir, 'clients.yaml'), stringify({ clients }));
    writeFileSync(join(dir, 'signing-key.json'), JSON.stringify(generateEs256Key('actbridge-bench').privateJwk));

    const profileDir = env.BENCH_CPU_PROF;
    if (profileDir) mkdirSync(profileDir, { recursive: true });
    // Node flags for this build's instances (e.g. --trace-gc, written to each instance's log).
    const nodeFlags = [
      ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
      ...(env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean),
    ];
    log(`starting actbridge (production build) and the minimal peer; config in ${dir}`);
    const actbridge = await startActbridge({
      dir,
      port,
      issuer: actbridgeIssuer,
      jwksCooldown: JWKS_COOLDOWN,
      nodeFlags,
    });
    servers.push(actbridge);
    // The same configuration and ISSUER on another port, for the paths that name another server.
    const second = async (
      server: 'workers' | 'baseline',
      port: number,
      settings: Pick<ActbridgeSettings, 'main' | 'unset' | 'nodeFlags'> & { env: Record<string, string> },
    ): Promise<ServerProcess | undefined> => {
      if (!paths.some((p) => p.server === server)) return undefined;
      const started = await startActbridge({
        dir,
        port,
        issuer: actbridgeIssuer,
        jwksCooldown: JWKS_COOLDOWN,
        ...settings,
        env: { ...settings.env, AUDIT_LOG: join(dir, `audit-${server}.log`) },
        logName: `actbridge-${server}.log`,
      });
      servers.push(started);
      return started;
    };
    // WORKERS = cores needs the shared store.
    const workers = await second('workers', workersPort, {
      nodeFlags,
      env: { WORKERS: String(availableParallelism()), REDIS_URL },
    });
    const baselineEnv: Record<string, string> = Object.fromEntries(
      (env.BENCH_BASELINE_ENV ?? '')
        .split(',')
        .filter((s) => s.includes('='))
        .map((s) => [s.slice(0, s.indexOf('=')).trim(), s.slice(s.indexOf('=') + 1).trim()]),
    );
    const baseline = await second('baseline', baselinePort, {
      main: baselineMain,
      nodeFlags: (env.BENCH_BASELINE_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean),
      unset: (env.BENCH_BASELINE_UNSET ?? '').split(',').map((s) => s.trim()),
      env: baselineEnv,
    });
    const peerKey = generateEs256Key('minimal-peer');
    const peer = await startMinimalPeer(dir, {
      port: peerPort,
      trustedIssuer: upstream.issuer,
      trustedKey: upstream.key.publicJwk,
      audience: actbridgeIssuer,
      issuer: `http://127.0.0.1:${peerPort}`,
      signingKey: peerKey.privateJwk,
    });
    servers.push(peer);
    // Warm: actbridge fetches discovery + JWKS in the background at startup.
    for (let i = 0; upstream.jwksFetches === 0 || partner.jwksFetches === 0; i++) {
      if (i > 100) throw new Error('actbridge did not fetch the upstream and partner JWKS');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const benchEnv: BenchEnv = {
      upstream,
      partner,
      actbridgeIssuer,
      peerTokenEndpoint: `http://127.0.0.1:${peerPort}/token`,
      workersOrigin: `http://127.0.0.1:${workersPort}`,
      baselineOrigin: `http://127.0.0.1:${baselinePort}`,
      async exchange(form, headers = {}) {
        const response = await fetch(`${actbridgeIssuer}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
          body: new URLSearchParams(form),
        });
        const body = (await response.json()) as { access_token: string };
        if (response.status !== 200) throw new Error(`exchange failed: ${response.status} ${JSON.stringify(body)}`);
        return body;
      },
    };

    // Every path warmed up first, then the measured runs in rounds, each round taking every path in
    // turn (see PathMeasurement for why).
    const measured: {
      path: (typeof paths)[number];
      stream: RequestStream;
      measurement: PathMeasurement;
      server: ServerProcess;
    }[] = [];
    for (const path of paths) {
      log(`${path.id}: ${settings.warmupSec} s warm-up ...`);
      const stream = await path.requests(benchEnv);
      const server = { peer, workers: workers!, baseline: baseline!, actbridge }[path.server];
      const store =
        path.server === 'workers' ? REDIS_URL : path.server === 'baseline' ? baselineEnv.REDIS_URL : undefined;
      const measurement = new PathMeasurement(stream, settings, {
        server: server.cpuSeconds,
        store: storeMeter(store),
      });
      await measurement.warmUp();
      measured.push({ path, stream, measurement, server });
    }
    for (let round = 0; round < settings.runs; round++) {
      log(`round ${round + 1} of ${settings.runs}: ${settings.durationSec} s per path`);
      for (const { path, measurement } of measured) {
        const run = await measurement.measure();
        log(
          `  ${path.id}: ${run.requestsPerSec.toFixed(0)} req/s, p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms, ` +
            `non-2xx ${run.non2xx}, errors ${run.errors}, server CPU ${run.cpuPerRequestUs.toFixed(0)} µs/request, ` +
            `generator ${run.generatorCpuPerRequestUs.toFixed(0)} µs` +
            (Number.isNaN(run.storeCpuPerRequestUs) ? '' : `, Redis ${run.storeCpuPerRequestUs.toFixed(0)} µs`),
        );
      }
    }
    for (const { path, measurement } of measured) results.push({ path, result: measurement.result() });
    fixedRates.push(...(await measureFixedRates(measured.filter((m) => FIXED_RATE_PATHS.includes(m.path.id)))));
    for (const { stream } of measured) await stream.close?.();

    if (wanted('kid')) {
      log(`kid test: ${KID_TEST_REQUESTS} concurrent requests naming a kid actbridge has not seen ...`);
      kid = await kidTest({
        upstream,
        tokenEndpoint: `${actbridgeIssuer}/oauth/token`,
        audience: actbridgeIssuer,
        authorization: kidClient.authorization,
        cooldownSec: JWKS_COOLDOWN,
        count: KID_TEST_REQUESTS,
      });
      log(`  ${kid.jwksFetches} JWKS fetch(es); statuses ${JSON.stringify(kid.statuses)}`);
    }
  } finally {
    for (const redis of storeMeters.values()) redis.disconnect();
    for (const server of servers) await server.stop();
    await upstream.close();
    await partner.close();
    const auditFile = join(dir, 'audit.log');
    for (const file of [auditFile, join(dir, 'audit-workers.log')]) {
      if (existsSync(file)) auditLines += countLines(file);
    }
    if (env.BENCH_KEEP_DIR) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }

  const report = reportOf({ results, fixedRate: fixedRates, kid, auditLines });
  log(consoleReport(report));
  if (only === undefined && !env.BENCH_NO_WRITE && baselineMain === undefined && FIXED_RATE === undefined) {
    await writeBenchmarksMd(markdownResults(report));
    log('wrote BENCHMARKS.md');
  }
}

/**
 * Each path open-loop at half of its measured peak (median closed-loop req/s), in rounds as the
 * closed-loop runs are: p50/p99 at a load below saturation, what callers feel.
 */
async function measureFixedRates(
  measured: Array<{ path: BenchPath; stream: RequestStream; measurement: PathMeasurement; server: ServerProcess }>,
): Promise<Array<{ path: BenchPath; result: FixedRateResult }>> {
  const runs = new Map<string, FixedRateStats[]>(measured.map((m) => [m.path.id, []]));
  for (let round = 0; round < settings.runs; round++) {
    const load = FIXED_RATE === undefined ? 'half its peak' : `${FIXED_RATE}/s (BENCH_RATE)`;
    log(`fixed rate, round ${round + 1} of ${settings.runs}: ${settings.durationSec} s per path at ${load}`);
    for (const { path, stream, measurement, server } of measured) {
      const rate = FIXED_RATE ?? Math.max(1, Math.round(measurement.result().median.requestsPerSec / 2));
      await stream.reserve?.(rate * settings.durationSec + 500);
      const run = await fixedRate(stream, rate, settings.durationSec, server.cpuSeconds);
      runs.get(path.id)!.push(run);
      log(
        `  ${path.id}: ${rate}/s asked, ${run.achievedRate.toFixed(0)}/s answered, p50 ${run.p50.toFixed(2)} ms, ` +
          `p99 ${run.p99.toFixed(2)} ms, non-2xx ${run.non2xx}, errors ${run.errors}, server CPU ${run.cpuPerRequestUs.toFixed(0)} µs/request, ` +
          `generator lag p99 ${run.sendLagP99.toFixed(2)} ms`,
      );
    }
  }
  return measured.map(({ path }) => ({ path, result: fixedRateResult(runs.get(path.id)!) }));
}

const START = '<!-- bench:results:start (generated by npm run bench; edit outside these markers) -->';
const END = '<!-- bench:results:end -->';

/** Replaces the generated section of BENCHMARKS.md, keeping everything written by hand around it. */
async function writeBenchmarksMd(section: string): Promise<void> {
  const file = join(ROOT, 'BENCHMARKS.md');
  const current = existsSync(file) ? readFileSync(file, 'utf8') : `# Benchmarks\n\n${START}\n${END}\n`;
  const start = current.indexOf(START);
  const end = current.indexOf(END);
  if (start < 0 || end < start) throw new Error(`BENCHMARKS.md lacks the ${START} … ${END} markers`);
  const text = `${current.slice(0, start + START.length)}\n\n${section}\n\n${current.slice(end)}`;
  // Formatted as `npm run lint` expects (prettier aligns the table columns).
  writeFileSync(file, await format(text, { ...(await resolveConfig(file)), filepath: file }));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
