import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Redis } from 'ioredis';
import { redisCpuUs } from './machine-share.js';
import { median } from './open-loop.js';

/** One row of the lineage cost table: the store, and the CPU one exchange's lineage work costs. */
export interface LineageCostRow {
  readonly store: 'memory' | 'redis';
  /** This process's CPU per exchange, µs (for Redis: the client's side, ioredis included). */
  readonly cpuUs: number;
  /** Redis's own CPU per exchange, µs (INFO cpu; any other client of that Redis counts too). */
  readonly storeCpuUs?: number;
  readonly exchanges: number;
  /** The memory store: heap bytes one live token's lineage keeps (each token from an upstream token of its own). */
  readonly heapBytesPerToken?: number;
}

const ROUNDS = 5;

/**
 * What lineage adds to one exchange of an upstream JWT, measured in-process on actbridge's build
 * (`dist/`), as the grants do it: `lineageLink` (the presented token's root and subject keys, hashed)
 * and `RevocationList.record` (one atomic store step: no ancestor revoked, then the issued token's entry
 * and its place in its parents' and subject's children indexes). With the
 * memory store one exchange at a time; with Redis (`BENCH_REDIS_URL`, default redis://127.0.0.1:6379)
 * 32 in flight, as under load. The median of ROUNDS rounds.
 */
export async function measureLineageCost(
  root: string,
  exchanges: number,
  redisUrl?: string,
): Promise<LineageCostRow[]> {
  const dist = (path: string) => import(join(root, 'dist', path));
  const { RevocationList, lineageLink } = await dist('subject-tokens/revocation-check.js');
  linkOf = lineageLink;
  const { MemoryRevocationStore } = await dist('stores/memory-revocation-store.js');
  const { MemoryLineageStore } = await dist('stores/memory-lineage-store.js');
  const rows: LineageCostRow[] = [];

  const revocations = new MemoryRevocationStore();
  const memory = new RevocationList(revocations, new MemoryLineageStore(revocations));
  const cost = await rounds(memory, exchanges, 1);
  const fresh = new MemoryRevocationStore();
  const live = new MemoryLineageStore(fresh);
  const heapBytesPerToken = await heapPerToken(new RevocationList(fresh, live), live);
  rows.push({ store: 'memory', exchanges, ...cost, heapBytesPerToken });

  if (redisUrl) {
    const { RedisConnection } = await dist('stores/redis-connection.js');
    const { RedisRevocationStore } = await dist('stores/redis-revocation-store.js');
    const { RedisLineageStore } = await dist('stores/redis-lineage-store.js');
    const prefix = `actbridge-bench:${randomUUID()}:`;
    const connection = new RedisConnection(redisUrl, { timeoutMs: 10_000 });
    const admin = new Redis(redisUrl);
    try {
      const store = new RedisRevocationStore(connection, `${prefix}revoked:`);
      const list = new RevocationList(
        store,
        new RedisLineageStore(connection, `${prefix}revoked:`, `${prefix}lineage:`),
      );
      rows.push({ store: 'redis', exchanges, ...(await rounds(list, exchanges, 32, admin)) });
    } finally {
      await connection.close();
      const keys = await admin.keys(`${prefix}*`);
      for (let i = 0; i < keys.length; i += 1000) await admin.del(...keys.slice(i, i + 1000));
      admin.disconnect();
    }
  }
  return rows;
}

interface Lineage {
  record(links: unknown[], token: Record<string, unknown>): Promise<unknown>;
}
let linkOf: (token: unknown, raw: string, role: string) => unknown;

/**
 * One exchange's lineage work, as the token-exchange grant and the access-token issuer do it. The
 * presented token's `jti` and the issued one's exist in every exchange anyway: they come from `ids`.
 */
async function exchange(lineage: Lineage, raw: string, ids: () => string): Promise<void> {
  const presented = {
    claims: { jti: ids() },
    principal: { iss: 'https://idp.bench.example', sub: 'alice' },
    anchor: { self: false },
  };
  const link = linkOf(presented, raw, 'subject');
  const now = Math.floor(Date.now() / 1000);
  await lineage.record([link], {
    jti: ids(),
    subject: presented.principal,
    client_id: 'jwt-jwt',
    actor: 'jwt-jwt',
    audience: ['https://api.example/'],
    typ: 'at+jwt',
    iat: now,
    exp: now + 900,
  });
}

const HEAP_TOKENS = 20_000;

/**
 * Heap bytes per live token in the memory store, as an operator sizes it: live tokens (issue rate ×
 * lifetime) × this. Each token here is issued from an upstream token of its own (a root with one child),
 * the case that keeps most per token. Full collections before and after, once the code is warm.
 */
async function heapPerToken(lineage: Lineage, store: { readonly size: number }): Promise<number> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const raw = 'x'.repeat(600);
  const run = async (count: number) => {
    for (let i = 0; i < count; i++) await exchange(lineage, raw, randomUUID);
  };
  await run(2000);
  gc();
  gc();
  const [before, size] = [process.memoryUsage().heapUsed, store.size];
  await run(HEAP_TOKENS);
  gc();
  gc();
  return (process.memoryUsage().heapUsed - before) / (store.size - size);
}

async function rounds(
  lineage: Lineage,
  exchanges: number,
  inFlight: number,
  redis?: Redis,
): Promise<{ cpuUs: number; storeCpuUs?: number }> {
  const raw = 'x'.repeat(600); // about an upstream JWT's size; hashed only when it has no jti
  const run = async (count: number, ids: string[]) => {
    let next = 0;
    let id = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next++ < count) await exchange(lineage, raw, () => ids[id++]!);
      }),
    );
  };
  const uuids = (count: number) => Array.from({ length: 2 * count }, () => randomUUID());
  await run(Math.min(2000, exchanges), uuids(2000)); // warm-up
  const client: number[] = [];
  const server: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const ids = uuids(exchanges);
    const storeBefore = redis ? await redisCpuUs(redis) : 0;
    const before = process.cpuUsage();
    await run(exchanges, ids);
    const used = process.cpuUsage(before);
    client.push((used.user + used.system) / exchanges);
    if (redis) server.push(((await redisCpuUs(redis)) - storeBefore) / exchanges);
  }
  return { cpuUs: median(client), ...(redis ? { storeCpuUs: median(server) } : {}) };
}
