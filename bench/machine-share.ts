import type { Redis } from 'ioredis';
import { statCpuSeconds } from './servers.js';

/**
 * What else a load run costs the machine besides the server under test. On a machine of few cores the
 * load generator and a local Redis take their CPU from the same cores, so a server's throughput is
 * bounded by cores ÷ (server + generator + Redis CPU per request), whatever the server does.
 */

/**
 * CPU time of this process's main thread so far, seconds (its /proc/self/task/<pid>/stat): autocannon
 * runs there, while the SAML signers are worker threads of their own. undefined off Linux.
 */
export function generatorCpuSeconds(): number | undefined {
  return statCpuSeconds(`/proc/self/task/${process.pid}/stat`);
}

/** Redis's CPU so far (INFO cpu: user + system, every thread of the server), µs; every client of it counts. */
export async function redisCpuUs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const seconds = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1e6;
}

/**
 * The most requests per second `cores` can serve when each request costs the server, the generator and
 * the store the CPU given (µs): every core busy, nothing else running.
 */
export function ceilingPerSec(
  cores: number,
  perRequestUs: { server: number; generator: number; store: number },
): number {
  return (cores * 1e6) / (perRequestUs.server + perRequestUs.generator + perRequestUs.store);
}

/**
 * The server CPU per request (µs) at which `cores` could serve `rate` requests per second, the generator
 * and the store costing what they did: the budget a target in requests per second leaves the server.
 */
export function serverBudgetUs(
  cores: number,
  rate: number,
  perRequestUs: { generator: number; store: number },
): number {
  return (cores * 1e6) / rate - perRequestUs.generator - perRequestUs.store;
}
