// Fails when a folder of src/ imports a folder that imports it back (directly or through others):
// dependencies must follow the layering in docs/architecture.md. Reads every import of src/**/*.ts
// (specs included: a test may not reach across a cycle either).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const SRC = 'src';
const IMPORT =
  /(?:^|\n)\s*(?:import|export)[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The top-level folder of src/ a file belongs to ('.' for files directly in src/). */
function folderOf(file) {
  const parts = relative(SRC, file).split('/');
  return parts.length > 1 ? parts[0] : '.';
}

const edges = new Map(); // folder -> Map(folder -> [file -> target])
for (const file of files(SRC)) {
  const text = readFileSync(file, 'utf8');
  for (const match of text.matchAll(IMPORT)) {
    const target = normalize(join(dirname(file), match[1] ?? match[2]));
    if (!target.startsWith(`${SRC}/`)) continue;
    const from = folderOf(file);
    const to = folderOf(target);
    if (from === to) continue;
    if (!edges.has(from)) edges.set(from, new Map());
    const out = edges.get(from);
    if (!out.has(to)) out.set(to, []);
    out.get(to).push(`${file} -> ${target}`);
  }
}

// Strongly connected components (Tarjan): every component of more than one folder is a cycle.
let index = 0;
const stack = [];
const state = new Map();
const cycles = [];
function visit(v) {
  state.set(v, { index, low: index, onStack: true });
  index++;
  stack.push(v);
  for (const w of edges.get(v)?.keys() ?? []) {
    if (!state.has(w)) {
      visit(w);
      state.get(v).low = Math.min(state.get(v).low, state.get(w).low);
    } else if (state.get(w).onStack) {
      state.get(v).low = Math.min(state.get(v).low, state.get(w).index);
    }
  }
  if (state.get(v).low === state.get(v).index) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      state.get(w).onStack = false;
      component.push(w);
    } while (w !== v);
    if (component.length > 1) cycles.push(component.sort());
  }
}
for (const v of edges.keys()) if (!state.has(v)) visit(v);

if (cycles.length === 0) {
  console.log(`folder dependencies: no cycle among ${edges.size} folders of ${SRC}/`);
  process.exit(0);
}
for (const component of cycles) {
  console.error(`folder cycle: ${component.join(', ')}`);
  for (const from of component) {
    for (const [to, imports] of edges.get(from) ?? []) {
      if (component.includes(to))
        console.error(
          `  ${from} -> ${to}: ${imports.slice(0, 3).join('; ')}${imports.length > 3 ? ` (+${imports.length - 3})` : ''}`,
        );
    }
  }
}
process.exit(1);
