// actbridge's commands (serve, start-dev, validate), imported by main.ts once SIGHUP is held.
import 'reflect-metadata';
import cluster from 'node:cluster';
import { setFlagsFromString } from 'node:v8';
import { ConfigError } from './config/config-error.js';
import type { RunMode } from './config/run-mode.js';
import { loadStsConfig } from './app/sts-config.js';
import { usableCores } from './app/worker-count.js';
import { validateConfiguration } from './cli/validate.js';
import { Primary } from './cluster/primary.js';
import { startServer } from './cluster/start-server.js';
import { threadPoolSize } from './cluster/thread-pool-size.js';
import { v8FlagsToSet } from './cluster/v8-flags.js';

const USAGE = `usage: actbridge [serve | start-dev | validate [start-dev]]
  serve       production (the default): refuses to start without signing keys, with development
              anchors, plaintext client secrets or a misspelt setting
  start-dev   the embedded development defaults: ephemeral signing key, demo IdP, demo clients
  validate    checks the configuration as serve (or start-dev) would, then exits 0 or 1 with the same
              messages; listens on nothing, fetches nothing, connects to no database
`;

const DEV_BANNER = `
  ================================================================================
   actbridge DEVELOPMENT MODE (start-dev): ephemeral signing key, the demo IdP whose
   private key is public, plaintext demo secrets. Never expose this to a network.
   Production: node dist/main.js (actbridge serve) with SIGNING_KEYS and your anchors.
  ================================================================================
`;

async function serve(mode: RunMode): Promise<void> {
  // Before anything uses the pool: libuv reads the variable once, when it starts its threads. Workers inherit it.
  const poolSize = threadPoolSize(process.env, usableCores());
  if (poolSize !== undefined) process.env.UV_THREADPOOL_SIZE = poolSize;
  for (const flag of v8FlagsToSet(process.execArgv)) setFlagsFromString(flag);
  const config = loadStsConfig(process.env, mode);
  if (cluster.isWorker) return startServer(config);
  if (mode === 'development') process.stderr.write(DEV_BANNER);
  if (config.workers.workers > 1) return new Primary(config).start();
  return startServer(config);
}

async function validate(mode: RunMode): Promise<void> {
  process.stdout.write(`actbridge: ${await validateConfiguration(process.env, mode)}\n`);
}

type Command = { run: typeof serve; mode: RunMode } | 'help' | undefined;

function commandOf(argv: readonly string[]): Command {
  const [command, ...rest] = argv;
  if (command === 'validate' && rest.length <= 1) {
    const [as] = rest;
    if (as === undefined || as === 'serve') return { run: validate, mode: 'production' };
    return as === 'start-dev' ? { run: validate, mode: 'development' } : undefined;
  }
  if (rest.length > 0) return undefined;
  if (command === undefined || command === 'serve') return { run: serve, mode: 'production' };
  if (command === 'start-dev') return { run: serve, mode: 'development' };
  if (command === 'help' || command === '--help' || command === '-h') return 'help';
  return undefined;
}

const command = commandOf(process.argv.slice(2));
if (command === 'help' || command === undefined) {
  process.stderr.write(USAGE);
  process.exit(command === 'help' ? 0 : 2);
}
command.run(command.mode).catch((error: unknown) => {
  // A configuration problem is the operator's to fix: print the message (file + field), not a stack.
  if (error instanceof ConfigError) {
    process.stderr.write(`actbridge: configuration error: ${error.message}\n`);
  } else {
    process.stderr.write(`actbridge: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  process.exit(1);
});
