import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { ConfigError } from '../config/config-error.js';
import {
  inheritKeyState,
  initialKeyState,
  rotateKeys,
  snapshotKeyState,
  type KeyRotationState,
} from './key-rotation.js';
import type { SigningKey, SigningKeySet } from './signing-keys.loader.js';

const TIMES = { publishLeadMs: 600_000, retentionMs: 3_630_000 };
const T0 = Date.parse('2026-05-10T12:00:00Z');
const MIN = 60_000;

const material = new Map<string, KeyObject>();
/** A private EC key with this kid (the same material each time unless `fresh`). */
function key(kid: string, fresh = false): SigningKey & { privateKey: KeyObject } {
  if (fresh || !material.has(kid)) material.set(kid, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
  const privateKey = material.get(kid)!;
  const { d: _d, ...publicJwk } = privateKey.export({ format: 'jwk' }) as JWK;
  return { kid, alg: 'ES256', privateKey, file: `/keys/${kid}.json`, publicJwk: { ...publicJwk, kid, alg: 'ES256' } };
}
const publicOnly = ({ privateKey: _p, ...rest }: SigningKey): SigningKey => rest;

/** A loaded set: the first key active, all published. */
function loaded(active: SigningKey & { privateKey: KeyObject }, ...others: SigningKey[]): SigningKeySet {
  return { active, published: [active, ...others], ephemeral: false };
}
const kids = (state: KeyRotationState) => state.keys.published.map((k) => k.kid);

describe('rotateKeys', () => {
  it('publishes a new key at once and lets it sign only after the publish lead', async () => {
    const start = await initialKeyState(loaded(key('a')), T0, TIMES);
    const published = await rotateKeys(start, loaded(key('a'), key('b')), T0 + MIN, TIMES);
    expect(published.changes).toEqual({ added: ['b'], removed: [] });
    expect(kids(published.state)).toEqual(['a', 'b']);

    const early = await rotateKeys(published.state, loaded(key('b'), key('a')), T0 + 5 * MIN, TIMES);
    expect(early.state.keys.active.kid).toBe('a');
    expect(early.changes).toEqual({ added: [], removed: [] });
    expect(early.notes).toEqual([
      'kid b is marked active but has been published only since 2026-05-10T12:01:00.000Z; kid a keeps signing until a reload at or after 2026-05-10T12:11:00.000Z (SIGNING_KEYS_PUBLISH_LEAD 600 s: publish before use)',
    ]);

    const ready = await rotateKeys(early.state, loaded(key('b'), key('a')), T0 + 11 * MIN, TIMES);
    expect(ready.state.keys.active.kid).toBe('b');
    expect(ready.changes).toEqual({ added: [], removed: [], active: { from: 'a', to: 'b' } });
    expect(ready.notes).toEqual([]);
  });

  it('a key added and marked active in one step is published, and the key in force keeps signing', async () => {
    const start = await initialKeyState(loaded(key('a')), T0, TIMES);
    // The old active file is even gone: its private key signs from memory until b may.
    const step = await rotateKeys(start, loaded(key('b')), T0 + MIN, TIMES);
    expect(step.state.keys.active).toBe(start.keys.active);
    expect(kids(step.state)).toEqual(['a', 'b']);
    expect(step.notes[0]).toMatch(/^kid b is marked active but was not published before; kid a keeps signing/);
    const later = await rotateKeys(step.state, loaded(key('b')), T0 + 12 * MIN, TIMES);
    expect(later.state.keys.active.kid).toBe('b');
    expect(kids(later.state)).toEqual(['b', 'a']);
    expect(later.state.keys.published[1]!.privateKey).toBeUndefined();
  });

  it('keys found at startup count as published from then on', async () => {
    const start = await initialKeyState(loaded(key('a'), key('b')), T0, TIMES);
    expect((await rotateKeys(start, loaded(key('b'), key('a')), T0 + 9 * MIN, TIMES)).state.keys.active.kid).toBe('a');
    expect((await rotateKeys(start, loaded(key('b'), key('a')), T0 + 10 * MIN, TIMES)).state.keys.active.kid).toBe('b');
  });

  it('keeps a key that signed published until its tokens expired, then drops it', async () => {
    let state = await initialKeyState(loaded(key('a'), key('b')), T0, TIMES);
    state = (await rotateKeys(state, loaded(key('b'), key('a')), T0 + 10 * MIN, TIMES)).state;
    const removed = await rotateKeys(state, loaded(key('b')), T0 + 11 * MIN, TIMES);
    expect(kids(removed.state)).toEqual(['b', 'a']);
    expect(removed.state.keys.published[1]).toEqual(publicOnly({ ...key('a'), file: undefined }));
    expect(removed.changes).toEqual({ added: [], removed: [] });
    expect(removed.notes).toEqual([
      'kid a: removed from SIGNING_KEYS, stays published until 2026-05-10T13:10:30.000Z (tokens it signed)',
    ]);
    const stillKept = await rotateKeys(removed.state, loaded(key('b')), T0 + 70 * MIN, TIMES);
    expect(kids(stillKept.state)).toEqual(['b', 'a']);
    expect(stillKept.notes).toEqual([]);
    const expired = await rotateKeys(stillKept.state, loaded(key('b')), T0 + 70 * MIN + 31_000, TIMES);
    expect(kids(expired.state)).toEqual(['b']);
    expect(expired.changes).toEqual({ added: [], removed: ['a'] });
  });

  it('a key found at startup is kept for a token lifetime when removed; one published later that never signed is not', async () => {
    const start = await initialKeyState(loaded(key('a'), key('old')), T0, TIMES);
    const withNext = await rotateKeys(start, loaded(key('a'), key('old'), key('next')), T0 + MIN, TIMES);
    const removed = await rotateKeys(withNext.state, loaded(key('a')), T0 + 2 * MIN, TIMES);
    expect(kids(removed.state)).toEqual(['a', 'old']);
    expect(removed.changes).toEqual({ added: [], removed: ['next'] });
  });

  it('refuses a kid published before with other key material, even after it was removed', async () => {
    const start = await initialKeyState(loaded(key('a'), key('b')), T0, TIMES);
    await expect(rotateKeys(start, loaded(key('a'), key('b', true)), T0 + MIN, TIMES)).rejects.toThrow(
      new ConfigError(
        '/keys/b.json: kid "b" was published with other key material; a kid is never reused, give the new key its own (SIGNING_KEYS)',
      ),
    );
    const without = await rotateKeys(start, loaded(key('a')), T0 + MIN, TIMES);
    await expect(rotateKeys(without.state, loaded(key('a'), key('b', true)), T0 + 2 * MIN, TIMES)).rejects.toThrow(
      /kid "b" was published with other key material/,
    );
  });

  it('refuses a kid published before for another algorithm: resource servers cache its alg with the key', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = rsa.export({ format: 'jwk' }) as JWK;
    const rsaKey = (alg: string): SigningKey & { privateKey: KeyObject } => ({
      kid: 'r',
      alg,
      privateKey: rsa,
      file: '/keys/r.active.json',
      publicJwk: { ...publicJwk, kid: 'r', alg, use: 'sig' },
    });
    const start = await initialKeyState(loaded(rsaKey('RS256')), T0, TIMES);
    await expect(rotateKeys(start, loaded(rsaKey('PS256')), T0 + MIN, TIMES)).rejects.toThrow(
      new ConfigError(
        '/keys/r.active.json: kid "r" was published for alg RS256, not PS256; a kid keeps its algorithm, give the key its own kid for PS256 (SIGNING_KEYS)',
      ),
    );
    expect((await rotateKeys(start, loaded(rsaKey('RS256')), T0 + MIN, TIMES)).changes).toEqual({
      added: [],
      removed: [],
    });
  });

  it('a retired key rewritten to its public part is the same key', async () => {
    const start = await initialKeyState(loaded(key('a'), key('b')), T0, TIMES);
    const retired = await rotateKeys(start, loaded(key('a'), publicOnly(key('b'))), T0 + MIN, TIMES);
    expect(retired.changes).toEqual({ added: [], removed: [] });
  });
});

describe('inheritKeyState (a replacement worker)', () => {
  it("continues the running workers' publish lead rather than signing with the marked key at once", async () => {
    const start = await initialKeyState(loaded(key('a')), T0, TIMES);
    const running = await rotateKeys(start, loaded(key('b'), key('a')), T0 + MIN, TIMES);
    expect(running.state.keys.active.kid).toBe('a');
    // Passed to the replacement as JSON, as the primary does.
    const snapshot = JSON.parse(JSON.stringify(snapshotKeyState(running.state)));
    const replacement = await inheritKeyState(snapshot, loaded(key('b'), key('a')), T0 + 2 * MIN, TIMES);
    expect(replacement!.state.keys.active.kid).toBe('a');
    expect(replacement!.state.keys.active.privateKey).toBe(material.get('a'));
    expect(kids(replacement!.state)).toEqual(['a', 'b']);
    expect(replacement!.notes).toEqual([
      'kid b is marked active but has been published only since 2026-05-10T12:01:00.000Z; kid a keeps signing until a reload at or after 2026-05-10T12:11:00.000Z (SIGNING_KEYS_PUBLISH_LEAD 600 s: publish before use)',
    ]);
    const later = await rotateKeys(replacement!.state, loaded(key('b'), key('a')), T0 + 11 * MIN, TIMES);
    expect(later.state.keys.active.kid).toBe('b');
  });

  it('keeps publishing a retired key the running workers still publish, though its file is gone', async () => {
    const start = await initialKeyState(loaded(key('a')), T0, TIMES);
    const published = await rotateKeys(start, loaded(key('a'), key('b')), T0 + MIN, TIMES);
    const switched = await rotateKeys(published.state, loaded(key('b'), key('a')), T0 + 12 * MIN, TIMES);
    const removed = await rotateKeys(switched.state, loaded(key('b')), T0 + 13 * MIN, TIMES);
    expect(kids(removed.state)).toEqual(['b', 'a']);
    const snapshot = JSON.parse(JSON.stringify(snapshotKeyState(removed.state)));
    const replacement = await inheritKeyState(snapshot, loaded(key('b')), T0 + 14 * MIN, TIMES);
    expect(kids(replacement!.state)).toEqual(['b', 'a']);
    expect(replacement!.state.keys.published[1]).toEqual({ kid: 'a', alg: 'ES256', publicJwk: key('a').publicJwk });
    expect(replacement!.state.retainUntil.get('a')).toBe(T0 + 12 * MIN + TIMES.retentionMs);
  });

  it('is undefined when the key the workers sign with has no private part on disk any more', async () => {
    const start = await initialKeyState(loaded(key('a')), T0, TIMES);
    const running = await rotateKeys(start, loaded(key('b'), publicOnly(key('a'))), T0 + MIN, TIMES);
    expect(running.state.keys.active.kid).toBe('a');
    const snapshot = snapshotKeyState(running.state);
    expect(
      await inheritKeyState(snapshot, loaded(key('b'), publicOnly(key('a'))), T0 + 2 * MIN, TIMES),
    ).toBeUndefined();
  });
});
