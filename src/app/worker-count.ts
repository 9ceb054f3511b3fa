import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { ConfigError } from '../config/config-error.js';
import type { RunMode } from '../config/run-mode.js';
import type { ServerConfig } from '../config/server-config.js';
import { playgroundEnabled } from '../playground/playground-settings.js';
import type { VaultConfig } from '../vault/vault-config.js';

/** The most server processes WORKERS may ask for. */
export const MAX_WORKERS = 256;

type Settings = Pick<
  ServerConfig,
  'workers' | 'redisUrl' | 'signingKeys' | 'databaseUrl' | 'playground' | 'playgroundPeer'
>;

/** How many server processes to run, and why that many when WORKERS is unset. */
export interface WorkerCount {
  readonly workers: number;
  /** Set when WORKERS was unset and the default fell back to one process: what kept it there. */
  readonly singleBecause?: string;
}

/**
 * What one process keeps that several processes would not share, one reason each: without these, a
 * token used at one worker could be replayed at another, a revocation or a connected account known to
 * one only, or each worker would sign with its own generated key.
 */
export function perProcessState(mode: RunMode, server: Settings, vault: VaultConfig): string[] {
  const state: string[] = [];
  if (server.redisUrl === undefined) {
    state.push(
      'REDIS_URL is unset (single-use identifiers, revocations, token lineage and DPoP proof identifiers would be kept per process)',
    );
  }
  if (server.signingKeys === undefined) {
    state.push('SIGNING_KEYS is unset (each worker would generate its own ephemeral signing key)');
  }
  if (vault.connections.length > 0 && server.databaseUrl === undefined) {
    state.push('DATABASE_URL is unset while CONNECTIONS_DIR holds connections (connected accounts kept per process)');
  }
  if (playgroundEnabled(mode, server)) {
    state.push("the playground is on (a page's traces are kept by the process that served it; set PLAYGROUND=off)");
  }
  return state;
}

/**
 * WORKERS resolved: as set (refused with a one-line error naming WORKERS when some state would be kept
 * per process), else every available core under `serve` when nothing keeps state per process, else 1.
 */
export function resolveWorkers(mode: RunMode, server: Settings, vault: VaultConfig): WorkerCount {
  const state = perProcessState(mode, server, vault);
  if (server.workers !== undefined) {
    if (server.workers > 1 && state.length > 0) {
      throw new ConfigError(
        `environment: WORKERS (${server.workers}) needs state shared by every worker: ${state.join('; ')}; or set WORKERS=1`,
      );
    }
    return { workers: server.workers };
  }
  if (mode === 'development') return { workers: 1 };
  const cores = Math.min(usableCores(), MAX_WORKERS);
  if (cores > 1 && state.length > 0) return { workers: 1, singleBecause: state.join('; ') };
  return { workers: cores };
}

/**
 * Cores this process may use: the CPUs it may run on, and no more than its cgroup's CPU quota (a
 * container's CPU limit, cgroup v2 `cpu.max`), which Node's availableParallelism does not read.
 */
export function usableCores(cpuMax = readCpuMax()): number {
  const cpus = availableParallelism();
  const [quota, period] = (cpuMax ?? '').trim().split(/\s+/);
  const limit = Number(quota) / Number(period);
  return Number.isFinite(limit) && limit > 0 ? Math.max(1, Math.min(cpus, Math.ceil(limit))) : cpus;
}

function readCpuMax(): string | undefined {
  try {
    return readFileSync('/sys/fs/cgroup/cpu.max', 'utf8');
  } catch {
    return undefined;
  }
}
