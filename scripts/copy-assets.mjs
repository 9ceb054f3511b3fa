// Copies the non-TypeScript files the build needs at run time (the token vault's SQL migrations) from
// src/ into the output directory (default dist/), keeping their paths; tsc copies only what it compiles.
import { cpSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const ASSET = /\.sql$/;
const out = process.argv[2] ?? 'dist';

function copy(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) copy(path);
    else if (ASSET.test(entry.name)) cpSync(path, join(out, relative('src', path)));
  }
}

copy('src');
