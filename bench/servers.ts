import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (bench/dist/*.js → ../..). */
export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

/** A server under test, in its own process. */
export interface ServerProcess {
  readonly pid: number;
  /** CPU time the process has used so far (user + system, every thread), seconds; undefined off Linux. */
  cpuSeconds(): number | undefined;
  /** Stops the process (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
}

export interface SpawnOptions {
  readonly args: string[];
  readonly env?: Record<string, string>;
  /** stdout and stderr go here. */
  readonly logFile: string;
  /** Polled until it answers (200, or any status with `anyStatus`). */
  readonly readyUrl: string;
  readonly anyStatus?: boolean;
}

export async function spawnServer({ args, env, logFile, readyUrl, anyStatus }: SpawnOptions): Promise<ServerProcess> {
  const log = openSync(logFile, 'a');
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', log, log],
  });
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  let dead = false;
  void exited.then(() => (dead = true));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (dead) throw new Error(`${args.join(' ')} exited during startup; see ${logFile}`);
    const ok = await fetch(readyUrl).then(
      (r) => r.ok || anyStatus === true,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${args.join(' ')} not ready after 60 s; see ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid!,
    cpuSeconds: () => treeCpuSeconds(child.pid!),
    async stop() {
      if (!dead) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * utime + stime from a `stat` file of /proc (a process's, or one thread's under task/): fields 14 and 15,
 * in clock ticks of 1/100 s. undefined when it cannot be read (off Linux, or the process is gone).
 */
export function statCpuSeconds(statFile: string): number | undefined {
  try {
    const stat = readFileSync(statFile, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

const processCpuSeconds = (pid: number): number | undefined => statCpuSeconds(`/proc/${pid}/stat`);

/**
 * CPU time of a process and its live children (a cluster primary and its workers). A worker that
 * exits during a run takes its time with it; none does in the bench.
 */
function treeCpuSeconds(pid: number): number | undefined {
  const own = processCpuSeconds(pid);
  if (own === undefined) return undefined;
  let children: string[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    // no children file (kernel without CONFIG_PROC_CHILDREN): the process alone
  }
  return children.reduce((sum, child) => sum + (processCpuSeconds(Number(child)) ?? 0), own);
}

export interface ActbridgeSettings {
  readonly dir: string;
  readonly port: number;
  readonly issuer: string;
  readonly jwksCooldown: number;
  /** Extra node flags (e.g. --cpu-prof). */
  readonly nodeFlags?: string[];
  /** Extra environment (WORKERS, REDIS_URL). */
  readonly env?: Record<string, string>;
  /** Log file name in `dir`. */
  readonly logName?: string;
  /** Another build's entry point (BENCH_BASELINE) instead of this checkout's dist/main.js. */
  readonly main?: string;
  /** Variables left out of its environment (settings an older build does not know refuse its start). */
  readonly unset?: readonly string[];
}

/**
 * actbridge as a deployment runs it: the production build (`npm start` minus the build step), its own
 * process, configured keys and hashed client secrets, JSON logs at the default level, audit lines
 * appended to a file.
 */
export function actbridgeEnv({ dir, port, issuer, jwksCooldown, env }: ActbridgeSettings): Record<string, string> {
  return {
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: issuer,
    TRUST_ANCHORS_DIR: join(dir, 'trust-anchors'),
    CLIENTS_FILE: join(dir, 'clients.yaml'),
    SIGNING_KEYS: join(dir, 'signing-key.json'),
    AUDIT_LOG: join(dir, 'audit.log'),
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'log',
    JWKS_COOLDOWN: String(jwksCooldown),
    MANAGEMENT_PORT: '0',
    // One process unless asked: the single-process rows measure one event loop.
    WORKERS: '1',
    ...env,
  };
}

function withoutVariables(env: Record<string, string>, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !names.includes(name)));
}

export function startActbridge(settings: ActbridgeSettings): Promise<ServerProcess> {
  const flags = settings.nodeFlags ?? [];
  return spawnServer({
    // With --cpu-prof the profile is written only on a normal exit: exit on SIGTERM at once, without the drain.
    args: [
      ...flags,
      ...(flags.some((f) => f.startsWith('--cpu-prof'))
        ? ['--import', join(ROOT, 'bench/dist/exit-on-sigterm.js')]
        : []),
      '--enable-source-maps',
      settings.main ?? 'dist/main.js',
    ],
    env: withoutVariables(actbridgeEnv(settings), settings.unset ?? []),
    logFile: join(settings.dir, settings.logName ?? 'actbridge.log'),
    readyUrl: `http://127.0.0.1:${settings.port}/.well-known/oauth-authorization-server`,
  });
}

export function startMinimalPeer(
  dir: string,
  options: Record<string, unknown> & { port: number },
): Promise<ServerProcess> {
  const file = join(dir, 'minimal-peer.json');
  writeFileSync(file, JSON.stringify(options));
  return spawnServer({
    args: ['bench/dist/minimal-peer-main.js', file],
    logFile: join(dir, 'minimal-peer.log'),
    // Any HTTP answer means it listens (a GET on the token endpoint is a 404).
    readyUrl: `http://127.0.0.1:${options.port}/token`,
    anyStatus: true,
  });
}

/** Whether a Redis answers PING at `url` within a second (the workers instance needs one). */
export function redisReachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolveReachable) => {
    const socket = connect(Number(port || 6379), hostname || '127.0.0.1');
    const done = (ok: boolean): void => {
      socket.destroy();
      resolveReachable(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

/**
 * Lines in a file (its last may lack the newline), read a megabyte at a time: a fast run's audit file
 * outgrows the longest string V8 can make (about 512 MiB), so it cannot be read whole.
 */
export function countLines(file: string): number {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    let lines = 0;
    let last = 10;
    for (let read; (read = readSync(fd, buffer, 0, buffer.length, null)) > 0;) {
      for (let at = buffer.indexOf(10); at !== -1 && at < read; at = buffer.indexOf(10, at + 1)) lines++;
      last = buffer[read - 1]!;
    }
    return last === 10 ? lines : lines + 1;
  } finally {
    closeSync(fd);
  }
}
