// Builds dist/ with tsc (always with --always; otherwise only when a source or build setting is newer than the last build), so that
// `npm start` and the CLI scripts start at once on a current build.
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const stamp = 'dist/.build-stamp';
const inputs = ['package.json', 'tsconfig.json', 'tsconfig.build.json'];

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

const built = mtime(stamp);
const changed = Math.max(newest('src'), ...inputs.map((file) => mtime(file) ?? 0));
const always = process.argv.includes('--always');
if (always || built === undefined || changed >= built) {
  // A full build starts from an empty dist/, so a file moved in src/ cannot linger there and hide a broken import.
  if (always) rmSync('dist', { recursive: true, force: true });
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
  execFileSync(process.execPath, ['scripts/copy-assets.mjs', 'dist'], { stdio: 'inherit' });
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
}
