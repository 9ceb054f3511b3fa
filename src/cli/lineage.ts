/**
 * A token's place in the delegation lineage, from the shared store (REDIS_URL, as the server's):
 *   npm run -s lineage -- --jti <jti>
 * Prints its ancestors (what it was issued from, up to upstream roots) and its descendants (every token
 * issued from it, transitively, while they live) as trees, each token with its client, actor, audience,
 * expiry and whether it is revoked (and through which revocation). Exit code: 0 done, 1 the store could
 * not be used, 2 usage or configuration error.
 */
import 'reflect-metadata';
import { parseCliArgs } from './cli-args.js';
import type { LineageEntry, LineageStore } from '../stores/lineage-store.js';
import { iso, openOperatorStores } from './lineage-stores.js';
import { printable } from '../common/printable.js';

const USAGE = 'usage: npm run -s lineage -- --jti <jti>\n';
/** Most descendants printed; the rest are counted. */
const MAX_PRINTED = 1000;

/**
 * One token's line. Printable: the jti comes from the command line, the actor from a token's `act.sub`,
 * and an escape sequence or newline in either must not rewrite the operator's terminal or forge a line.
 */
async function describe(lineage: LineageStore, key: string): Promise<string> {
  return printable(await describeRaw(lineage, key));
}

async function describeRaw(lineage: LineageStore, key: string): Promise<string> {
  const [entry] = key.startsWith('root:') || key.startsWith('sub:') ? [undefined] : await lineage.entries([key]);
  const { revoked } = await lineage.inspect([key]);
  const state = revoked ? `REVOKED${revoked.origin === key ? '' : ` (through ${revoked.origin})`}` : 'not revoked';
  if (!entry) {
    const kind = key.startsWith('root:') ? 'upstream token' : key.startsWith('sub:') ? 'subject' : 'unknown or expired';
    return `${key} [${kind}] ${state}`;
  }
  return `${key} ${details(entry)} ${state}`;
}

function details(entry: LineageEntry): string {
  return [
    `typ=${entry.typ}`,
    `client=${entry.client_id}`,
    `actor=${entry.actor ?? '-'}`,
    `aud=${entry.audience.join(',')}`,
    `exp=${iso(entry.exp)}`,
  ].join(' ');
}

/** Ancestors, nearest first: each parent indented under the token it is a parent of. */
async function printAncestors(lineage: LineageStore, jti: string, depth: number, seen: Set<string>): Promise<void> {
  const [entry] = await lineage.entries([jti]);
  for (const parent of entry?.parents ?? []) {
    if (seen.has(parent)) continue;
    seen.add(parent);
    process.stdout.write(`${'   '.repeat(depth)}↑ ${await describe(lineage, parent)}\n`);
    await printAncestors(lineage, parent, depth + 1, seen);
  }
}

async function printDescendants(lineage: LineageStore, key: string, depth: number, seen: Set<string>): Promise<number> {
  let skipped = 0;
  for (const child of await lineage.children([key])) {
    if (seen.has(child.jti)) continue;
    seen.add(child.jti);
    if (seen.size > MAX_PRINTED) {
      skipped++;
      continue;
    }
    process.stdout.write(`${'   '.repeat(depth)}└─ ${await describe(lineage, child.jti)}\n`);
    skipped += await printDescendants(lineage, child.jti, depth + 1, seen);
  }
  return skipped;
}

async function main(): Promise<number> {
  let jti: string | undefined;
  try {
    jti = parseCliArgs({ options: { jti: { type: 'string' } }, strict: true }).values.jti;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (!jti) {
    process.stderr.write(USAGE);
    return 2;
  }
  const stores = openOperatorStores('lineage');
  if (typeof stores === 'string') {
    process.stderr.write(`${stores}\n`);
    return 2;
  }
  try {
    const { lineage } = stores;
    process.stdout.write('ancestors:\n');
    await printAncestors(lineage, jti, 1, new Set());
    process.stdout.write(`token:\n   ${await describe(lineage, jti)}\ndescendants:\n`);
    const skipped = await printDescendants(lineage, jti, 1, new Set([jti]));
    if (skipped > 0) process.stdout.write(`   … and ${skipped} more (only ${MAX_PRINTED} are printed)\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`lineage: cannot use the store: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await stores.connection.close();
  }
}

process.exitCode = await main();
