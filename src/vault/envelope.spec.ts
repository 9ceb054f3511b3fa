import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { open, openJson, rewrap, seal, sealJson, VaultDecryptionError, type Sealed } from './envelope.js';
import { KeyRing } from './key-ring.js';

const ring = (entries: Record<string, Buffer>, active: string) => new KeyRing(new Map(Object.entries(entries)), active);
const k1 = randomBytes(32);
const k2 = randomBytes(32);
const alice = ['grant', 'github', 'https://idp.example', 'alice'];
const bob = ['grant', 'github', 'https://idp.example', 'bob'];

describe('envelope encryption', () => {
  it('round-trips, with a fresh data key and IV per record', () => {
    const keys = ring({ k1 }, 'k1');
    const a = sealJson(keys, { access_token: 'gho_secret' }, alice);
    const b = sealJson(keys, { access_token: 'gho_secret' }, alice);
    expect(openJson(keys, a, alice)).toEqual({ access_token: 'gho_secret' });
    expect(a.keyId).toBe('k1');
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
    expect(a.wrappedKey.equals(b.wrappedKey)).toBe(false);
    expect(a.ciphertext.includes(Buffer.from('gho_secret'))).toBe(false);
  });

  it.each<[string, (s: Sealed) => Sealed, readonly string[]]>([
    ["another record's binding (AAD)", (s) => s, bob],
    ['a flipped ciphertext byte', (s) => ({ ...s, ciphertext: flip(s.ciphertext, 40) }), alice],
    ['a flipped wrapped-key byte', (s) => ({ ...s, wrappedKey: flip(s.wrappedKey, 40) }), alice],
    [
      "another record's wrapped key",
      (s) => ({ ...s, wrappedKey: seal(ring({ k1 }, 'k1'), Buffer.from('x'), alice).wrappedKey }),
      alice,
    ],
    ['a truncated envelope', (s) => ({ ...s, ciphertext: s.ciphertext.subarray(0, 20) }), alice],
  ])('refuses %s', (_name, tamper, binding) => {
    const keys = ring({ k1 }, 'k1');
    const sealed = seal(keys, Buffer.from('refresh-token'), alice);
    expect(() => open(keys, tamper(sealed), binding)).toThrow(VaultDecryptionError);
  });

  it('names a key-encryption key that is not configured', () => {
    const sealed = seal(ring({ k1 }, 'k1'), Buffer.from('x'), alice);
    expect(() => open(ring({ k2 }, 'k2'), sealed, alice)).toThrow('key-encryption key "k1" is not in VAULT_KEYS');
  });

  it('re-wraps the data key under the active key, leaving the ciphertext as it is', () => {
    const old = seal(ring({ k1 }, 'k1'), Buffer.from('refresh-token'), alice);
    const rotated = rewrap(ring({ k1, k2 }, 'k2'), old, alice);
    expect(rotated.keyId).toBe('k2');
    expect(rotated.ciphertext).toBe(old.ciphertext);
    expect(rotated.wrappedKey.equals(old.wrappedKey)).toBe(false);
    // Readable with the new key alone; the old key alone no longer opens the new wrapping.
    expect(open(ring({ k2 }, 'k2'), rotated, alice).toString()).toBe('refresh-token');
    expect(() => open(ring({ k1 }, 'k1'), rotated, alice)).toThrow(VaultDecryptionError);
    // The wrapped key is bound to its kid: relabelling it does not pass.
    expect(() => open(ring({ k1, k2 }, 'k1'), { ...rotated, keyId: 'k1' }, alice)).toThrow(VaultDecryptionError);
  });
});

function flip(buffer: Buffer, at: number): Buffer {
  const copy = Buffer.from(buffer);
  copy[Math.min(at, copy.length - 1)]! ^= 0x01;
  return copy;
}
