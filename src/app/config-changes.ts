import { isDeepStrictEqual } from 'node:util';
import type { KeyChanges } from '../keys/key-rotation.js';
import type { StsConfig } from './sts-config.js';

/** What a reload changed, by configured identifier (anchor names, client ids, kids). */
export interface ConfigChanges {
  readonly anchors: NamedChanges;
  readonly clients: NamedChanges;
  readonly keys: KeyChanges;
}

export interface NamedChanges {
  readonly added: string[];
  readonly removed: string[];
  readonly changed: string[];
}

export const NO_KEY_CHANGES: KeyChanges = { added: [], removed: [], active: undefined };

export function configChanges(before: StsConfig, after: StsConfig, keys: KeyChanges): ConfigChanges {
  return {
    anchors: namedChanges(
      new Map(before.anchors.map((a) => [a.name, [a.file, a.config, a.introspectionSecret?.reveal()]])),
      new Map(after.anchors.map((a) => [a.name, [a.file, a.config, a.introspectionSecret?.reveal()]])),
    ),
    clients: namedChanges(
      new Map(before.clients.map((c) => [c.client_id, c])),
      new Map(after.clients.map((c) => [c.client_id, c])),
    ),
    keys,
  };
}

export function hasChanges(changes: ConfigChanges): boolean {
  const { anchors, clients, keys } = changes;
  return (
    [
      anchors.added,
      anchors.removed,
      anchors.changed,
      clients.added,
      clients.removed,
      clients.changed,
      keys.added,
      keys.removed,
    ].some((list) => list.length > 0) || keys.active !== undefined
  );
}

/** One line for the log: `anchors +a -b ~c; clients +d; keys +k2, signing k2 (was k1)`. */
export function describeChanges(changes: ConfigChanges): string {
  const parts: string[] = [];
  for (const [what, named] of [
    ['anchors', changes.anchors],
    ['clients', changes.clients],
  ] as const) {
    const items = [
      ...named.added.map((n) => `+${n}`),
      ...named.removed.map((n) => `-${n}`),
      ...named.changed.map((n) => `~${n}`),
    ];
    if (items.length > 0) parts.push(`${what} ${items.join(' ')}`);
  }
  const keys = [...changes.keys.added.map((k) => `+${k}`), ...changes.keys.removed.map((k) => `-${k}`)];
  if (changes.keys.active) keys.push(`signing ${changes.keys.active.to} (was ${changes.keys.active.from})`);
  if (keys.length > 0) parts.push(`keys ${keys.join(' ')}`);
  return parts.length > 0 ? parts.join('; ') : 'no changes';
}

function namedChanges(before: ReadonlyMap<string, unknown>, after: ReadonlyMap<string, unknown>): NamedChanges {
  // Compared as JSON: validated config objects are class instances whose prototypes may differ.
  const same = (a: unknown, b: unknown) =>
    isDeepStrictEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)));
  return {
    added: [...after.keys()].filter((name) => !before.has(name)),
    removed: [...before.keys()].filter((name) => !after.has(name)),
    changed: [...after.keys()].filter((name) => before.has(name) && !same(before.get(name), after.get(name))),
  };
}
