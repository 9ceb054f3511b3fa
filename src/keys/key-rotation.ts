import { calculateJwkThumbprint, type JWK } from 'jose';
import { ConfigError } from '../config/config-error.js';
import type { SigningKey, SigningKeySet } from './signing-keys.loader.js';

/** How long keys must be published before they sign, and stay published after. */
export interface RotationTimes {
  /** A key signs only once this process has published it this long (SIGNING_KEYS_PUBLISH_LEAD). */
  readonly publishLeadMs: number;
  /** A key that signed stays published this long after it stopped (MAX_TOKEN_TTL + CLOCK_SKEW). */
  readonly retentionMs: number;
}

/** The keys in force and what this process remembers of the keys it published. */
export interface KeyRotationState {
  readonly keys: SigningKeySet;
  /** Every kid this process ever published, with its RFC 7638 thumbprint: a kid never changes material. */
  readonly thumbprints: ReadonlyMap<string, string>;
  /** Every kid this process ever published, with its `alg`: a kid never changes algorithm either. */
  readonly algorithms: ReadonlyMap<string, string>;
  /** Published kid → when this process first published it (ms). */
  readonly publishedSince: ReadonlyMap<string, number>;
  /** kid → until when it stays published even once removed from SIGNING_KEYS (ms): it may have signed. */
  readonly retainUntil: ReadonlyMap<string, number>;
}

export interface KeyChanges {
  readonly added: string[];
  readonly removed: string[];
  /** The signing kid, when it changed. */
  readonly active?: { readonly from: string; readonly to: string };
}

export interface KeyRotation {
  readonly state: KeyRotationState;
  readonly changes: KeyChanges;
  /** Operator information, one line each (a deferred activation, a key kept published). */
  readonly notes: string[];
}

type ActiveKey = SigningKeySet['active'];

/** The state of the keys loaded at startup: each may have signed tokens still valid, so each is retained. */
export async function initialKeyState(
  keys: SigningKeySet,
  now: number,
  times: RotationTimes,
): Promise<KeyRotationState> {
  return {
    keys,
    thumbprints: new Map(await Promise.all(keys.published.map(async (k) => [k.kid, await thumbprint(k)] as const))),
    algorithms: new Map(keys.published.map((k) => [k.kid, k.alg])),
    publishedSince: new Map(keys.published.map((k) => [k.kid, now])),
    retainUntil: new Map(keys.published.map((k) => [k.kid, now + times.retentionMs])),
  };
}

/**
 * Applies a newly loaded key set to the keys in force. A key signs only once this process has published
 * it for the publish lead (until then the key in force keeps signing, from memory if need be); a key
 * that signed stays published, from memory, until every token it signed has expired; a kid already
 * published with other material is refused (ConfigError: the reload fails, the keys in force stay).
 */
export async function rotateKeys(
  previous: KeyRotationState,
  loaded: SigningKeySet,
  now: number,
  times: RotationTimes,
): Promise<KeyRotation> {
  const thumbprints = new Map(previous.thumbprints);
  const algorithms = new Map(previous.algorithms);
  for (const key of loaded.published) {
    const print = await thumbprint(key);
    const known = thumbprints.get(key.kid);
    if (known !== undefined && known !== print) {
      throw new ConfigError(
        `${key.file ?? 'SIGNING_KEYS'}: kid "${key.kid}" was published with other key material; a kid is never reused, give the new key its own (SIGNING_KEYS)`,
      );
    }
    thumbprints.set(key.kid, print);
    // RFC 7517 §4.4: the published JWK carries `alg`, and verifiers (jose) pick keys by kid and alg: a kid
    // whose alg changed would sign at once with an algorithm no cached JWKS pairs with it (publish before use).
    const alg = algorithms.get(key.kid);
    if (alg !== undefined && alg !== key.alg) {
      throw new ConfigError(
        `${key.file ?? 'SIGNING_KEYS'}: kid "${key.kid}" was published for alg ${alg}, not ${key.alg}; a kid keeps its algorithm, give the key its own kid for ${key.alg} (SIGNING_KEYS)`,
      );
    }
    algorithms.set(key.kid, key.alg);
  }
  const before = previous.keys.active;
  const notes: string[] = [];
  const retainUntil = new Map([...previous.retainUntil].filter(([, until]) => until > now));
  const active = chooseActive(previous, loaded.active, now, times, notes);
  if (active.kid !== before.kid) retainUntil.set(before.kid, now + times.retentionMs);

  const onDisk = new Set(loaded.published.map((k) => k.kid));
  const kept: SigningKey[] = [];
  for (const key of previous.keys.published) {
    const until = retainUntil.get(key.kid);
    if (onDisk.has(key.kid) || key.kid === active.kid || until === undefined) continue;
    // Public part only: a key kept for verification never signs again.
    kept.push({ kid: key.kid, alg: key.alg, publicJwk: key.publicJwk });
    // Keys already kept from memory have no file: their note was written when they were removed.
    if (key.file !== undefined)
      notes.push(`kid ${key.kid}: removed from SIGNING_KEYS, stays published until ${iso(until)} (tokens it signed)`);
  }
  const published = [active, ...loaded.published.filter((k) => k.kid !== active.kid), ...kept];
  const publishedSince = new Map(published.map((k) => [k.kid, previous.publishedSince.get(k.kid) ?? now]));
  const keys: SigningKeySet = { active, published, ephemeral: false };
  return {
    state: { keys, thumbprints, algorithms, publishedSince, retainUntil },
    changes: keyChanges(previous.keys, keys),
    notes,
  };
}

/** The requested active key if this process has published it for the lead time, else the key in force. */
function chooseActive(
  previous: KeyRotationState,
  requested: ActiveKey,
  now: number,
  times: RotationTimes,
  notes: string[],
): ActiveKey {
  const before = previous.keys.active;
  if (requested.kid === before.kid) return requested;
  const since = previous.publishedSince.get(requested.kid);
  if (since !== undefined && now - since >= times.publishLeadMs) return requested;
  const ready = (since ?? now) + times.publishLeadMs;
  notes.push(
    `kid ${requested.kid} is marked active but ${since === undefined ? 'was not published before' : `has been published only since ${iso(since)}`}; ` +
      `kid ${before.kid} keeps signing until a reload at or after ${iso(ready)} (SIGNING_KEYS_PUBLISH_LEAD ${times.publishLeadMs / 1000} s: publish before use)`,
  );
  return before;
}

function keyChanges(before: SigningKeySet, after: SigningKeySet): KeyChanges {
  const was = new Set(before.published.map((k) => k.kid));
  const is = new Set(after.published.map((k) => k.kid));
  return {
    added: [...is].filter((kid) => !was.has(kid)),
    removed: [...was].filter((kid) => !is.has(kid)),
    ...(before.active.kid !== after.active.kid ? { active: { from: before.active.kid, to: after.active.kid } } : {}),
  };
}

function thumbprint(key: SigningKey): Promise<string> {
  return calculateJwkThumbprint(key.publicJwk, 'sha256');
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Set by the cluster's primary for a replacement worker: the running workers' KeyStateSnapshot, as JSON. */
export const INHERITED_KEYS_ENV = 'ACTBRIDGE_WORKER_KEY_STATE';

/**
 * What a process remembers of its keys, without private parts: passed from the running workers to a
 * replacement worker (node:cluster), so that it publishes and signs as they do.
 */
export interface KeyStateSnapshot {
  readonly active: string;
  readonly published: ReadonlyArray<{ kid: string; alg: string; publicJwk: JWK }>;
  readonly thumbprints: ReadonlyArray<[string, string]>;
  readonly algorithms: ReadonlyArray<[string, string]>;
  readonly publishedSince: ReadonlyArray<[string, number]>;
  readonly retainUntil: ReadonlyArray<[string, number]>;
}

export function snapshotKeyState(state: KeyRotationState): KeyStateSnapshot {
  return {
    active: state.keys.active.kid,
    published: state.keys.published.map((k) => ({ kid: k.kid, alg: k.alg, publicJwk: { ...k.publicJwk } })),
    thumbprints: [...state.thumbprints],
    algorithms: [...state.algorithms],
    publishedSince: [...state.publishedSince],
    retainUntil: [...state.retainUntil],
  };
}

/**
 * The keys a replacement worker starts with: those `loaded` from SIGNING_KEYS applied to the state of
 * the running workers (`snapshot`), as a re-read of theirs would be. Undefined when the key they sign
 * with has no private part on disk any more (retired while its successor waited for the lead): the
 * replacement then starts as a new process does.
 */
export async function inheritKeyState(
  snapshot: KeyStateSnapshot,
  loaded: SigningKeySet,
  now: number,
  times: RotationTimes,
): Promise<KeyRotation | undefined> {
  const active = loaded.published.find((k) => k.kid === snapshot.active && k.privateKey !== undefined);
  if (active === undefined) return undefined;
  const previous: KeyRotationState = {
    keys: {
      active: active as ActiveKey,
      published: snapshot.published.map((k) => (k.kid === active.kid ? active : k)),
      ephemeral: false,
    },
    thumbprints: new Map(snapshot.thumbprints),
    algorithms: new Map(snapshot.algorithms),
    publishedSince: new Map(snapshot.publishedSince),
    retainUntil: new Map(snapshot.retainUntil),
  };
  return rotateKeys(previous, loaded, now, times);
}
