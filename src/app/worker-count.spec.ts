import { availableParallelism } from 'node:os';
import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '../config/config-error.js';
import type { VaultConfig } from '../vault/vault-config.js';
import { resolveWorkers, usableCores } from './worker-count.js';

const noVault: VaultConfig = { connections: [], keys: undefined };
const withConnection = { connections: [{}], keys: undefined } as unknown as VaultConfig;
const shared = { redisUrl: 'redis://127.0.0.1:6379', signingKeys: '/keys.json', playground: 'off' as const };
const cores = Math.min(usableCores(), 256);

describe('resolveWorkers', () => {
  it('defaults to every core under serve when nothing keeps state per process, 1 under start-dev', () => {
    expect(resolveWorkers('production', shared, noVault)).toEqual({ workers: cores });
    expect(resolveWorkers('development', shared, noVault)).toEqual({ workers: 1 });
  });

  it('falls back to one process, saying why, when WORKERS is unset and state would be per process', () => {
    const count = resolveWorkers('production', { ...shared, redisUrl: undefined }, noVault);
    if (cores > 1) expect(count).toEqual({ workers: 1, singleBecause: expect.stringContaining('REDIS_URL is unset') });
    else expect(count).toEqual({ workers: 1 });
  });

  it.each([
    [
      'REDIS_URL',
      { redisUrl: undefined },
      noVault,
      'REDIS_URL is unset (single-use identifiers, revocations, token lineage and DPoP proof identifiers would be kept per process)',
    ],
    [
      'SIGNING_KEYS',
      { signingKeys: undefined },
      noVault,
      'SIGNING_KEYS is unset (each worker would generate its own ephemeral signing key)',
    ],
    [
      'DATABASE_URL',
      {},
      withConnection,
      'DATABASE_URL is unset while CONNECTIONS_DIR holds connections (connected accounts kept per process)',
    ],
    [
      'PLAYGROUND',
      { playground: 'on' as const },
      noVault,
      "the playground is on (a page's traces are kept by the process that served it; set PLAYGROUND=off)",
    ],
  ])('refuses WORKERS > 1 without %s', (_name, change, vault, reason) => {
    const attempt = () => resolveWorkers('production', { ...shared, ...change, workers: 2 }, vault);
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(`environment: WORKERS (2) needs state shared by every worker: ${reason}; or set WORKERS=1`);
  });

  it('takes WORKERS as set, also 1 without any shared store', () => {
    expect(resolveWorkers('development', { ...shared, workers: 3 }, noVault)).toEqual({ workers: 3 });
    expect(resolveWorkers('production', { workers: 1 }, withConnection)).toEqual({ workers: 1 });
  });
});

describe('usableCores', () => {
  it('is the CPUs the process may run on, capped by a cgroup CPU quota', () => {
    expect(usableCores('max 100000\n')).toBe(availableParallelism());
    expect(usableCores(undefined)).toBe(availableParallelism());
    expect(usableCores('50000 100000\n')).toBe(1);
    expect(usableCores(`${availableParallelism() * 100000 + 1} 100000`)).toBe(availableParallelism());
    expect(usableCores('100000 100000')).toBe(1);
  });
});
