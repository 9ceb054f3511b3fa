import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { describe, it } from '@jest/globals';
import { freePort } from './free-port.js';

/** A redis-server of a test's own, on a free loopback port, keeping nothing on disk. */
export interface OwnRedis {
  readonly port: number;
  readonly url: string;
  /** Kills it and starts a new one on the same port: an empty store, as after a restart without persistence. */
  restartEmpty(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `describe` for suites that run their own redis-server: skipped loudly where there is none, except
 * under CI=true, where they fail (as describeWithRedis does).
 */
export function describeWithRedisServer(): typeof describe {
  if (spawnSync('redis-server', ['--version']).status === 0) return describe;
  if (process.env.CI === 'true') {
    describe('redis-server', () => {
      it('can be run (required under CI=true)', () => {
        throw new Error('no redis-server on PATH; the store-restart tests cannot run');
      });
    });
    return describe;
  }
  process.stderr.write('\n!!! SKIPPING store-restart tests: no redis-server on PATH\n\n');
  return describe.skip as typeof describe;
}

export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let child = await launch(port);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async restartEmpty() {
      await kill(child);
      child = await launch(port);
    },
    async stop() {
      await kill(child);
    },
  };
}

async function launch(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', '/tmp'],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 10_000;
  while (!(await answersPing(port))) {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited (${child.exitCode})`);
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return child;
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(port, '127.0.0.1');
    socket.setTimeout(500);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
