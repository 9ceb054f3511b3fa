#!/usr/bin/env node
// `npm test`: the unit specs (src/) on every core, as they share nothing; then the end-to-end flows and
// the bench harness (test/, bench/) one file at a time, as they start servers and wait on timers. With
// arguments (`npm test -- <path>`), one jest run with them, as given. Exits non-zero if any run failed.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';

// The package's bin (its `exports` do not list it): beside its package.json.
const jestBin = join(dirname(createRequire(import.meta.url).resolve('jest/package.json')), 'bin', 'jest.js');
const env = { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --experimental-vm-modules`.trim() };

function jest(args) {
  const { status, signal } = spawnSync(process.execPath, [jestBin, ...args], { stdio: 'inherit', env });
  return signal ? 1 : (status ?? 1);
}

const given = process.argv.slice(2);
const runs =
  given.length > 0
    ? [given]
    : [
        ['src', `--maxWorkers=${availableParallelism()}`],
        ['test', 'bench'],
      ];
let failed = false;
for (const args of runs) failed = jest(args) !== 0 || failed;
process.exit(failed ? 1 : 0);
