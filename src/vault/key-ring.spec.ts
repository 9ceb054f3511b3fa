import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { generateVaultKey, KeyRing, loadKeyRing } from './key-ring.js';
import { ConfigError } from '../config/config-error.js';

const dir = mkdtempSync(join(tmpdir(), 'vault-keys-'));
const k1 = generateVaultKey('k1');
const k2 = generateVaultKey('k2');

describe('VAULT_KEYS', () => {
  it('is unset: no ring', () => {
    expect(loadKeyRing({})).toBeUndefined();
  });

  it('reads inline JSON, a JWK file, a JWKS file and a directory of them', () => {
    expect(loadKeyRing({ vaultKeys: JSON.stringify(k1) })!.activeKid).toBe('k1');
    writeFileSync(join(dir, 'one.json'), JSON.stringify(k1));
    expect(loadKeyRing({ vaultKeys: join(dir, 'one.json') })!.kids).toEqual(['k1']);
    writeFileSync(join(dir, 'set.json'), JSON.stringify({ keys: [k1, k2] }));
    const set = loadKeyRing({ vaultKeys: join(dir, 'set.json'), vaultKeyId: 'k2' })!;
    expect([set.kids, set.activeKid]).toEqual([['k1', 'k2'], 'k2']);
    const keysDir = join(dir, 'keys');
    mkdirSync(keysDir);
    writeFileSync(join(keysDir, 'a.json'), JSON.stringify(k1));
    writeFileSync(join(keysDir, 'b.jwk'), JSON.stringify(k2));
    writeFileSync(join(keysDir, 'README'), 'not a key');
    expect(loadKeyRing({ vaultKeys: keysDir, vaultKeyId: 'k1' })!.kids).toEqual(['k1', 'k2']);
  });

  it('reads a key file saved with a byte-order mark, as YAML and JWKS files are read', () => {
    writeFileSync(join(dir, 'bom.json'), `\uFEFF${JSON.stringify(k1)}`);
    expect(loadKeyRing({ vaultKeys: join(dir, 'bom.json') })!.kids).toEqual(['k1']);
  });

  it.each([
    ['{"kty":"oct"', 'environment: VAULT_KEYS: not valid JSON (VAULT_KEYS)'],
    ['{"kty":"RSA","kid":"x"}', 'environment: VAULT_KEYS: kty must be "oct" (VAULT_KEYS)'],
    ['{"kty":"oct","k":"AAAA"}', 'environment: VAULT_KEYS: kid is required (VAULT_KEYS)'],
    ['{"kty":"oct","kid":7,"k":"AAAA"}', 'environment: VAULT_KEYS: kid must be a string (VAULT_KEYS)'],
    [
      '{"kty":"oct","kid":"x","k":"AAAA"}',
      'environment: VAULT_KEYS: k must be 32 bytes, base64url (AES-256) (VAULT_KEYS)',
    ],
    [JSON.stringify({ ...k1, alg: 'A128KW' }), 'environment: VAULT_KEYS: alg must be A256GCMKW (VAULT_KEYS)'],
    [JSON.stringify({ ...k1, use: 'sig' }), 'environment: VAULT_KEYS: "use" must be "enc" (VAULT_KEYS)'],
    [JSON.stringify({ keys: [k1, k1] }), 'environment: VAULT_KEYS: duplicate kid "k1" (VAULT_KEYS)'],
    [
      JSON.stringify({ keys: [k1, k2] }),
      'environment: VAULT_KEY_ID: VAULT_KEYS holds 2 keys; name the active one (k1, k2)',
    ],
    [JSON.stringify({ keys: [] }), 'environment: VAULT_KEYS: holds no key (VAULT_KEYS)'],
  ])('refuses %s with one line naming the variable', (value, message) => {
    expect(() => loadKeyRing({ vaultKeys: value })).toThrow(message);
  });

  it('refuses an unknown VAULT_KEY_ID and an unreadable path', () => {
    expect(() => loadKeyRing({ vaultKeys: JSON.stringify(k1), vaultKeyId: 'k9' })).toThrow(
      'environment: VAULT_KEY_ID: no key with kid "k9" in VAULT_KEYS (found: k1)',
    );
    expect(() => loadKeyRing({ vaultKeys: join(dir, 'missing.json') })).toThrow(
      `${join(dir, 'missing.json')}: cannot be read (ENOENT) (VAULT_KEYS)`,
    ); // A device is never read whole (it would hold startup without bound).
    expect(() => loadKeyRing({ vaultKeys: '/dev/zero' })).toThrow('/dev/zero: is not a regular file (VAULT_KEYS)');
  });

  it('refuses keys given inline in another form without repeating them', () => {
    for (const value of [JSON.stringify([k1]), `-----BEGIN PRIVATE KEY-----\n${k1.k}\n-----END PRIVATE KEY-----`]) {
      expect(() => loadKeyRing({ vaultKeys: value })).toThrow(
        new ConfigError(
          'environment: VAULT_KEYS: is neither a JWK or JWK Set object nor a path (the value is not repeated here)',
        ),
      );
    }
  });

  it('never prints key material', () => {
    const keys = loadKeyRing({ vaultKeys: JSON.stringify({ keys: [k1, k2] }), vaultKeyId: 'k2' })!;
    for (const text of [inspect(keys), JSON.stringify(keys), String(keys)]) {
      expect(text).not.toContain(k1.k);
      expect(text).not.toContain(k2.k);
    }
    expect(inspect(keys)).toBe('KeyRing { active: k2, kids: k1, k2 }');
    expect(KeyRing.ephemeral().ephemeral).toBe(true);
  });
});
