import { cpus, release, totalmem, type as osType } from 'node:os';
import type { FixedRateResult, FixedRateStats } from './fixed-rate.js';
import type { FloorResult } from './floor.js';
import type { KidTestResult } from './kid-test.js';
import type { LoadSettings, PathResult, RunStats } from './load.js';
import type { BenchPath } from './paths.js';
import { worstSamlInput, type SamlCostRow } from './saml-cost.js';
import type { LineageCostRow } from './lineage-cost.js';
import type { ReplayScaleResult } from './replay-scale.js';
import { ceilingPerSec, serverBudgetUs } from './machine-share.js';
import { median } from './open-loop.js';

/**
 * The SAML cost targets: an assertion canonicalized another way, or with anything in its unsigned
 * KeyInfo, costs about what it costs on the fast path; a hostile input costs at most a few times a
 * genuine assertion of its size (what is left is per element: the strict parse and one walk).
 */
export const SAML_VARIANT_BOUND = 1.5;
export const SAML_HOSTILE_BOUND = 8;
/** Lineage (recording and checking, per exchange) costs at most this share of the JWT→JWT path's server CPU. */
export const LINEAGE_BOUND = 0.05;
/** No call of the memory replay store holding an hour of single-use keys takes longer, ms. */
export const REPLAY_SCALE_BOUND_MS = 10;

export interface BenchReport {
  readonly command: string;
  readonly settings: LoadSettings;
  readonly floor: FloorResult | undefined;
  /** SAML verification CPU by input, in-process (saml-cost.ts). */
  readonly samlCost?: readonly SamlCostRow[];
  /** Lineage work per exchange, in-process (lineage-cost.ts). */
  readonly lineageCost?: readonly LineageCostRow[];
  /** The memory replay store holding many live keys, in-process (replay-scale.ts). */
  readonly replayScale?: ReplayScaleResult;
  readonly results: ReadonlyArray<{ path: BenchPath; result: PathResult }>;
  /** Open-loop runs at half of each path's peak (fixed-rate.ts). */
  readonly fixedRate: ReadonlyArray<{ path: BenchPath; result: FixedRateResult }>;
  readonly kid: KidTestResult | undefined;
  readonly auditLines: number;
  readonly date: Date;
  /** 1-minute load average when the run started and ended (other jobs on the machine skew every figure). */
  readonly load: readonly [number, number];
  /** The cores the servers, the load generator and Redis share (the WORKERS row runs one worker per core). */
  readonly cores: number;
}

export interface Target {
  readonly name: string;
  /** undefined: not measured in this run. */
  readonly pass: boolean | undefined;
  readonly detail: string;
}

export function machine(): string {
  const cpu = cpus();
  return (
    `${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB; ` +
    `Node ${process.version}; ${osType()} ${release()}`
  );
}

const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toFixed(digits) : '—');
const ratio = (a: number, b: number | undefined): string => (b ? `${(a / b).toFixed(2)}` : '—');
/** A markdown table: its header row, its alignment row, then one row per item. */
const markdownTable = <T>(
  header: string,
  alignment: string,
  items: readonly T[],
  row: (item: T) => string,
): string[] => [header, alignment, ...items.map((item) => row(item))];

/** A target measured when `figures` are all present, else "not measured in this run". */
function target<T extends unknown[]>(
  name: string,
  figures: { [K in keyof T]: T[K] | undefined },
  judge: (...figures: T) => { pass: boolean; detail: string },
): Target {
  if (figures.some((f) => f === undefined)) return { name, pass: undefined, detail: 'not measured in this run' };
  return { name, ...judge(...(figures as T)) };
}

export function targets(report: BenchReport): Target[] {
  const byId = new Map(report.results.map((r) => [r.path.id, r.result.median]));
  const fixed = new Map(report.fixedRate.map((r) => [r.path.id, r.result.median]));
  const runsOf = (id: string) => report.results.find((r) => r.path.id === id)?.result.runs ?? [];
  const [peer, jwt, repeated, workers, saml] = [
    'peer',
    'jwt-jwt',
    'jwt-jwt-repeated',
    'jwt-jwt-workers',
    'saml-jwt',
  ].map((id) => byId.get(id));
  const list: Target[] = [
    target('JWT→JWT ≥ 0.85 × minimal peer req/s', [jwt, peer], (j: RunStats, p: RunStats) => ({
      pass: j.requestsPerSec >= 0.85 * p.requestsPerSec,
      detail: `${times(j.requestsPerSec, p.requestsPerSec)} (${fmt(j.requestsPerSec)} vs ${fmt(p.requestsPerSec)} req/s)`,
    })),
    // jwt-jwt verifies every subject token, as the peer does; jwt-jwt-repeated (signatures remembered) beside it.
    target('JWT→JWT server CPU per exchange ≤ 0.8 × the minimal peer’s', [jwt, peer], (j: RunStats, p: RunStats) => ({
      pass: j.cpuPerRequestUs <= 0.8 * p.cpuPerRequestUs,
      detail:
        `${times(j.cpuPerRequestUs, p.cpuPerRequestUs)} (${fmt(j.cpuPerRequestUs)} vs ${fmt(p.cpuPerRequestUs)} µs)` +
        (repeated
          ? `; tokens presented again: ${times(repeated.cpuPerRequestUs, p.cpuPerRequestUs)} (${fmt(repeated.cpuPerRequestUs)} µs)`
          : ''),
    })),
    target(
      `JWT→JWT with WORKERS = cores ≥ 1.3 × the single-process minimal peer req/s`,
      [workers, peer],
      (w: RunStats, p: RunStats) => ({
        pass: w.requestsPerSec >= 1.3 * p.requestsPerSec,
        detail:
          `${times(w.requestsPerSec, p.requestsPerSec)} (${fmt(w.requestsPerSec)} vs ${fmt(p.requestsPerSec)} req/s)` +
          workersCeiling(report.cores, runsOf('jwt-jwt-workers'), runsOf('peer')),
      }),
    ),
    target(`JWT→JWT p99 ≤ 20 ms at ${report.settings.connections} connections`, [jwt], (j: RunStats) => ({
      pass: j.p99 <= 20,
      // The peer's p99 beside it: the target is absolute, so it also measures the machine's speed that day.
      detail: `p99 ${fmt(j.p99, 1)} ms${peer ? ` (minimal peer: ${fmt(peer.p99, 1)} ms)` : ''}`,
    })),
    target('JWT→JWT p99 ≤ 5 ms at half of its peak, open loop', [fixed.get('jwt-jwt')], (j: FixedRateStats) => {
      const other = (id: string, label: string) => {
        const f = fixed.get(id);
        return f ? `; ${label}: ${fmt(f.p99, 1)} ms at ${fmt(f.targetRate)}/s` : '';
      };
      return {
        pass: j.p99 <= 5,
        detail:
          `p99 ${fmt(j.p99, 1)} ms, p50 ${fmt(j.p50, 2)} ms at ${fmt(j.targetRate)}/s` +
          `${other('jwt-jwt-workers', 'WORKERS = cores')}${other('peer', 'minimal peer')}`,
      };
    }),
    target('SAML assertion → JWT ≥ 0.7 × JWT→JWT req/s', [saml, jwt], (s: RunStats, j: RunStats) => ({
      pass: s.requestsPerSec >= 0.7 * j.requestsPerSec,
      detail: `${times(s.requestsPerSec, j.requestsPerSec)} (${fmt(s.requestsPerSec)} vs ${fmt(j.requestsPerSec)} req/s)`,
    })),
  ];
  for (const [group, bound, name] of [
    ['variant', SAML_VARIANT_BOUND, 'a SAML assertion with inclusive c14n (opted in) or a KeyName naming it costs'],
    ['hostile', SAML_HOSTILE_BOUND, 'no hostile SAML input costs more than'],
  ] as const) {
    const rows = report.samlCost;
    const worst = rows && worstSamlInput(rows, group);
    const title =
      group === 'variant'
        ? `${name} ≤ ${bound} × the fast path on the same assertion`
        : `${name} ${bound} × a genuine assertion of its size on the fast path`;
    const base = worst && rows!.find((r) => r.id === worst.baseline)!;
    list.push(
      worst && base
        ? {
            name: title,
            pass: worst.ratio <= bound,
            detail: `worst ${worst.ratio.toFixed(2)} × (${worst.id}: ${fmt(worst.cpuUs)} µs against ${base.id}: ${fmt(base.cpuUs)} µs)`,
          }
        : { name: title, pass: undefined, detail: 'not measured in this run' },
    );
  }
  list.push(...lineageTargets(report, byId.get('jwt-jwt')?.cpuPerRequestUs));
  list.push(replayScaleTarget(report.replayScale));
  const all = [...report.results, ...report.fixedRate];
  const failures = all.filter((r) => r.result.median.non2xx > 0 || r.result.median.errors > 0);
  list.push({
    name: 'zero non-2xx responses (and no connection errors) in every run',
    pass: report.results.length > 0 ? failures.length === 0 : undefined,
    detail:
      failures.length === 0
        ? `${all.reduce((n, r) => n + r.result.median.requests, 0)} responses, all 2xx`
        : `failing: ${failures.map((f) => `${f.path.id} (${f.result.median.non2xx} non-2xx, ${f.result.median.errors} errors)`).join(', ')}`,
  });
  const kid = report.kid;
  list.push(
    kid
      ? {
          name: `${kid.requests} concurrent requests with an unseen kid → exactly one JWKS fetch`,
          pass: kid.jwksFetches === 1 && kid.statuses['200'] === kid.requests,
          detail: `${kid.jwksFetches} fetch(es); statuses ${JSON.stringify(kid.statuses)}; ${fmt(kid.ms)} ms`,
        }
      : { name: 'unseen kid → exactly one JWKS fetch', pass: undefined, detail: 'not measured in this run' },
  );
  return list;
}

/**
 * What the machine allows the WORKERS row: its cores also run the load generator and Redis, so at its
 * CPU per exchange it could serve at most cores ÷ (server + generator + Redis) per second, and 1.3 × the
 * peer leaves the server only what the generator and Redis do not take of cores ÷ that rate. Taken per
 * round (the peer's run of the same round) and then the median, since each column's median may come
 * from a different round.
 */
function workersCeiling(cores: number, workers: readonly RunStats[], peer: readonly RunStats[]): string {
  const rounds = workers
    .map((w, i) => ({ w, p: peer[i] }))
    .filter(({ w, p }) => p && Number.isFinite(w.generatorCpuPerRequestUs) && Number.isFinite(w.cpuPerRequestUs))
    .map(({ w, p }) => {
      const generator = w.generatorCpuPerRequestUs;
      const store = Number.isNaN(w.storeCpuPerRequestUs) ? 0 : w.storeCpuPerRequestUs;
      const budget = serverBudgetUs(cores, 1.3 * p!.requestsPerSec, { generator, store });
      return {
        generator,
        store,
        ceiling: ceilingPerSec(cores, { server: w.cpuPerRequestUs, generator, store }) / p!.requestsPerSec,
        budget,
        budgetOfPeer: budget / p!.cpuPerRequestUs,
      };
    });
  if (rounds.length === 0) return '';
  const mid = (pick: (r: (typeof rounds)[number]) => number) => median(rounds.map(pick));
  return (
    `; these ${cores} cores also ran the load generator (${fmt(mid((r) => r.generator))} µs per request) and Redis ` +
    `(${fmt(mid((r) => r.store))} µs): at its CPU per exchange they allow it at most ${mid((r) => r.ceiling).toFixed(2)} × ` +
    `the peer's req/s, and 1.3 × would leave it ${fmt(mid((r) => r.budget))} µs per exchange, ` +
    `${mid((r) => r.budgetOfPeer).toFixed(2)} × the peer's own (medians of the rounds)`
  );
}

const times = (a: number, b: number) => `${(a / b).toFixed(2)} ×`;

function resultsTable(report: BenchReport): string[] {
  const peer = report.results.find((r) => r.path.id === 'peer')?.result.median.requestsPerSec;
  const rows = [
    '| Path | req/s | p50 ms | p99 ms | non-2xx | errors | server CPU µs/req | load generator CPU µs/req | Redis CPU µs/req | × floor (node:crypto) | × floor (jose) | × minimal peer |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  if (report.floor) {
    const { jose, joseConcurrent, nodeCrypto } = report.floor;
    // CPU per exchange is known only for the synchronous floor: one busy thread.
    const floorRow = (title: string, rate: number, cpu = '') =>
      `| ${title} | ${fmt(rate)} | | | | | ${cpu} | | | ${ratio(rate, nodeCrypto)} | ${ratio(rate, jose)} | ${ratio(rate, peer)} |`;
    rows.push(floorRow('floor: node:crypto sync verify + sign, 1 thread, no HTTP', nodeCrypto, fmt(1e6 / nodeCrypto)));
    rows.push(floorRow('floor: jose jwtVerify + SignJWT, one at a time, no HTTP', jose));
    rows.push(floorRow('floor: jose, 32 in flight (WebCrypto jobs on the libuv pool), no HTTP', joseConcurrent));
  }
  for (const { path, result } of report.results) {
    const m = result.median;
    rows.push(
      `| ${path.title} | ${fmt(m.requestsPerSec)} | ${fmt(m.p50, 2)} | ${fmt(m.p99, 2)} | ${m.non2xx} | ${m.errors} | ${fmt(m.cpuPerRequestUs)} | ` +
        `${fmt(m.generatorCpuPerRequestUs)} | ${Number.isNaN(m.storeCpuPerRequestUs) ? '' : fmt(m.storeCpuPerRequestUs)} | ` +
        `${ratio(m.requestsPerSec, report.floor?.nodeCrypto)} | ${ratio(m.requestsPerSec, report.floor?.jose)} | ` +
        `${path.id === 'peer' ? '1.00' : ratio(m.requestsPerSec, peer)} |`,
    );
  }
  return rows;
}

/** The open-loop runs at half of each path's peak, when measured. */
function fixedRateTable(report: BenchReport): string[] {
  if (report.fixedRate.length === 0) return [];
  return markdownTable(
    '| Path, open loop at half its peak | rate asked /s | answered /s | p50 ms | p99 ms | non-2xx | errors | server CPU µs/req | generator lag p99 ms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    report.fixedRate,
    ({ path, result: { median: m } }) => {
      const cells = [fmt(m.targetRate), fmt(m.achievedRate), fmt(m.p50, 2), fmt(m.p99, 2), m.non2xx, m.errors];
      return `| ${path.title} | ${cells.join(' | ')} | ${fmt(m.cpuPerRequestUs)} | ${fmt(m.sendLagP99, 2)} |`;
    },
  );
}

/**
 * Lineage per exchange against the JWT→JWT path's server CPU in the same run. That path runs with the
 * memory store (no REDIS_URL), so the target is on the memory row; the Redis row is shown beside it.
 */
function lineageTargets(report: BenchReport, jwtCpuUs: number | undefined): Target[] {
  const name = `lineage per exchange ≤ ${LINEAGE_BOUND * 100} % of JWT→JWT server CPU µs/request`;
  const memory = report.lineageCost?.find((row) => row.store === 'memory');
  if (!memory || jwtCpuUs === undefined) return [{ name, pass: undefined, detail: 'not measured in this run' }];
  const share = (us: number) => `${fmt(us, 1)} µs = ${((100 * us) / jwtCpuUs).toFixed(1)} %`;
  const redis = report.lineageCost?.find((row) => row.store === 'redis');
  return [
    {
      name,
      pass: memory.cpuUs <= LINEAGE_BOUND * jwtCpuUs,
      detail:
        `memory store ${share(memory.cpuUs)} of ${fmt(jwtCpuUs)} µs` +
        (redis
          ? `; with Redis (not this path's store; client side) ${share(redis.cpuUs)}, Redis's own CPU ${fmt(redis.storeCpuUs ?? 0, 1)} µs`
          : ''),
    },
  ];
}

/** Forgetting expired single-use keys never lands on one request. */
function replayScaleTarget(scale: ReplayScaleResult | undefined): Target {
  const name = `the memory replay store holding an hour of single-use keys: no call longer than ${REPLAY_SCALE_BOUND_MS} ms (median of the rounds' longest)`;
  if (!scale) return { name, pass: undefined, detail: 'not measured in this run' };
  return {
    name,
    pass: scale.longestMs <= REPLAY_SCALE_BOUND_MS,
    detail:
      `${scale.liveKeys} live keys, ${scale.calls} calls: longest ${fmt(scale.longestMs, 2)} ms ` +
      `(of all rounds ${fmt(scale.worstMs, 2)} ms), mean ${fmt(scale.meanUs, 1)} µs`,
  };
}

/** The replay store at scale (replay-scale.ts), when measured. */
function replayScaleTable(report: BenchReport): string[] {
  if (!report.replayScale) return [];
  return markdownTable(
    '| Memory replay store (in-process, dist/) | Live keys | Calls | Longest call ms (median of rounds) | Longest of all ms | Mean call µs |',
    '|---|---:|---:|---:|---:|---:|',
    [report.replayScale],
    (r) =>
      `| an hour of single-use keys, then a call per ms of its clock | ${r.liveKeys} | ${r.calls} | ${fmt(r.longestMs, 2)} | ${fmt(r.worstMs, 2)} | ${fmt(r.meanUs, 1)} |`,
  );
}

/** The lineage cost (lineage-cost.ts), when measured. */
function lineageCostTable(report: BenchReport): string[] {
  if (!report.lineageCost) return [];
  const store = (r: LineageCostRow) => (r.store === 'memory' ? 'memory store, one at a time' : 'Redis, 32 in flight');
  const storeCpu = (r: LineageCostRow) => (r.storeCpuUs === undefined ? '' : fmt(r.storeCpuUs, 1));
  const heap = (r: LineageCostRow) => (r.heapBytesPerToken === undefined ? '' : fmt(r.heapBytesPerToken, 0));
  return markdownTable(
    '| Lineage per exchange (in-process, dist/) | Exchanges per round | CPU µs (this process) | Store CPU µs (Redis INFO) | Heap bytes per live token |',
    '|---|---:|---:|---:|---:|',
    report.lineageCost,
    (r) => `| ${store(r)} | ${r.exchanges} | ${fmt(r.cpuUs, 1)} | ${storeCpu(r)} | ${heap(r)} |`,
  );
}

/** The SAML verification cost by input (saml-cost.ts), when measured. */
function samlCostTable(report: BenchReport): string[] {
  if (!report.samlCost) return [];
  return markdownTable(
    '| Input | SAML document (in-process: decode, parse, checks, signature, read) | kB | Verdict | CPU µs | of which parse | × its baseline | Baseline |',
    '|---|---|---:|---|---:|---:|---:|---|',
    report.samlCost,
    (r) =>
      `| \`${r.id}\` | ${r.title} | ${(r.bytes / 1000).toFixed(1)} | ${r.verdict.startsWith('refused') ? 'refused' : r.verdict} | ` +
      `${fmt(r.cpuUs)} | ${fmt(r.parseUs)} | ${r.ratio.toFixed(2)} | ${r.baseline ? `\`${r.baseline}\`` : '(itself)'} |`,
  );
}

const mark = (pass: boolean | undefined): string => (pass === undefined ? 'n/a ' : pass ? 'PASS' : 'FAIL');

/** The table and targets as printed on the console. */
export function consoleReport(report: BenchReport): string {
  return [
    '',
    ...resultsTable(report),
    '',
    ...fixedRateTable(report),
    '',
    ...samlCostTable(report),
    '',
    ...lineageCostTable(report),
    '',
    ...replayScaleTable(report),
    '',
    ...targets(report).map((t) => `${mark(t.pass)}  ${t.name}: ${t.detail}`),
    '',
  ].join('\n');
}

/** The generated section of BENCHMARKS.md (between the results markers). */
export function markdownResults(report: BenchReport): string {
  const s = report.settings;
  return [
    `Generated by \`${report.command}\` on ${report.date.toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
    '',
    `- Machine: ${machine()}; 1-minute load average ${report.load[0].toFixed(2)} at the start, ${report.load[1].toFixed(2)} at the end`,
    `- Load: autocannon (library) in the harness process, ${s.connections} connections, ` +
      `${s.warmupSec} s warm-up per path, then ${s.runs} rounds in which every path runs ${s.durationSec} s in turn; the median run figure of each column is reported ` +
      '(non-2xx and errors: totals over the measured runs). Latency percentiles are computed from every response time.',
    '- Servers under test: each in its own process (actbridge: `node --enable-source-maps dist/main.js`, NODE_ENV=production, ' +
      'LOG_FORMAT=json, LOG_LEVEL=log, AUDIT_LOG=<file>, SIGNING_KEYS=<ES256 JWK file>, scrypt-hashed client secrets; ' +
      'upstream discovery metadata and JWKS served on loopback by the harness and fetched before the first measurement). ' +
      'The WORKERS row: the same configuration in a second instance with WORKERS = cores and REDIS_URL (a local Redis); its server CPU is the primary’s and every worker’s.',
    '- The same cores run the load generator and Redis: the load generator’s CPU per request is the harness’s main ' +
      'thread, where autocannon runs; Redis’s (INFO cpu) is shown for the rows whose server uses it.',
    `- Audit lines written by actbridge during the run: ${report.auditLines}.`,
    '',
    ...resultsTable(report),
    '',
    ...(report.fixedRate.length > 0
      ? [
          '### Fixed rate (open loop)',
          '',
          'Requests sent at a fixed rate whatever the responses, at half of the path’s median req/s above, ' +
            `${s.runs} runs of ${s.durationSec} s in rounds; latency counted from when each request was due. The generator ` +
            '(bench/open-loop.ts) runs in a process of its own and writes pre-encoded requests on plain sockets; its lag ' +
            '(how late it wrote a request, included in every latency) is shown beside the figures.',
          '',
          ...fixedRateTable(report),
          '',
        ]
      : []),
    ...(report.samlCost ? ['### SAML verification cost by input', '', ...samlCostTable(report), ''] : []),
    ...(report.lineageCost ? ['### Lineage cost per exchange', '', ...lineageCostTable(report), ''] : []),
    ...(report.replayScale ? ['### The memory replay store at scale', '', ...replayScaleTable(report), ''] : []),
    '### Targets',
    '',
    ...targets(report).map((t) => `- **${mark(t.pass).trim()}** ${t.name}: ${t.detail}`),
  ].join('\n');
}
