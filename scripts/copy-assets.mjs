// Copies the non-TypeScript files the build needs at run time from src/ into the output directory
// (default dist/), keeping their paths: the token vault's SQL migrations and the playground's page,
// styles and browser scripts. tsc copies only what it compiles.
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';

const ASSET = /\.sql$/;
const DIRECTORIES = ['src/playground/web'];
const out = process.argv[2] ?? 'dist';

function copy(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) copy(path);
    else if (ASSET.test(entry.name)) cpSync(path, join(out, relative('src', path)));
  }
}

copy('src');
for (const dir of DIRECTORIES) {
  const target = join(out, relative('src', dir));
  rmSync(target, { recursive: true, force: true });
  cpSync(dir, target, { recursive: true });
}
