import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from '@jest/globals';
import { usableCores } from '../../src/app/worker-count.js';
import { threadPoolSize } from '../../src/cluster/thread-pool-size.js';
import { startBuiltServer, type BuiltServer } from '../support/built-server.js';

/**
 * libuv's thread pool as the built server sizes it: one thread per usable core, 2 to 4, unless
 * UV_THREADPOOL_SIZE says otherwise. Counted from the process's thread names in /proc; libuv names its
 * pool threads `libuv-worker` from version 1.50, so the suite is skipped on Node 20 (libuv 1.46).
 */
const libuvNamesThreads = (() => {
  const [major, minor] = process.versions.uv.split('.').map(Number) as [number, number];
  return major > 1 || minor >= 50;
})();
const whereNamed = libuvNamesThreads ? describe : describe.skip;

const servers: BuiltServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.dispose()));
});

/** Its pool threads, once the pool exists (libuv starts every thread at its first job: here an access-log write). */
async function poolThreads(server: BuiltServer): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await fetch(`${server.baseUrl}/.well-known/oauth-authorization-server`);
    const named = readdirSync(`/proc/${server.child.pid}/task`).filter(
      (task) => readFileSync(`/proc/${server.child.pid}/task/${task}/comm`, 'utf8').trim() === 'libuv-worker',
    ).length;
    if (named > 0 || Date.now() > deadline) return named;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function start(env: Record<string, string> = {}): Promise<BuiltServer> {
  const server = await startBuiltServer({ anchors: {}, clients: [], env });
  servers.push(server);
  return server;
}

whereNamed('the thread pool of the single process', () => {
  it('has one thread per usable core, no fewer than 2 and no more than libuv’s 4', async () => {
    const expected = Number(threadPoolSize({}, usableCores()));
    expect(expected).toBeGreaterThanOrEqual(2);
    expect(expected).toBeLessThanOrEqual(4);
    expect(await poolThreads(await start())).toBe(expected);
  });

  it('keeps the UV_THREADPOOL_SIZE an operator set', async () => {
    expect(await poolThreads(await start({ UV_THREADPOOL_SIZE: '3' }))).toBe(3);
  });
});
