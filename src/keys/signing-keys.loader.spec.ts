import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createPrivateKey, generateKeyPairSync, KeyObject, webcrypto, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT, type JWK } from 'jose';
import { ConfigError } from '../config/config-error.js';
import { MAX_CONFIG_FILE_BYTES } from '../config/config-files.js';
import type { SigningAlgorithm } from '../config/server-config.js';
import { PublishedKeys } from './published-keys.js';
import { loadSigningKeys, type SigningKey, type SigningKeySet } from './signing-keys.loader.js';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

type Pair = { privateKey: KeyObject; publicKey: KeyObject };

const jwkOf = (key: KeyObject, extra: Partial<JWK> = {}): JWK => ({
  ...(key.export({ format: 'jwk' }) as JWK),
  ...extra,
});
const pemOf = (key: KeyObject): string =>
  key.type === 'private'
    ? (key.export({ format: 'pem', type: 'pkcs8' }) as string)
    : (key.export({ format: 'pem', type: 'spki' }) as string);

describe('loadSigningKeys', () => {
  let root: string;
  let counter = 0;
  let ec: Pair, ec2: Pair, ec384: Pair, rsa: Pair, ed: Pair;

  /** A fresh directory holding `files` (name → content); returns its path. */
  function keyDir(files: Record<string, string | object>): string {
    const dir = join(root, `d${++counter}`);
    mkdirSync(dir);
    for (const [name, content] of Object.entries(files))
      writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
    return dir;
  }

  // Development mode, where an unset SIGNING_KEYS means an ephemeral key; production refuses it (below).
  const load = (signingKeys: string | undefined, signingKeyId?: string, signingAlg: SigningAlgorithm = 'ES256') =>
    loadSigningKeys({ signingKeys, signingKeyId, signingAlg }, 'development');

  function expectNoPrivateMembers(keys: SigningKeySet): void {
    for (const key of keys.published) {
      for (const member of PRIVATE_MEMBERS) expect(key.publicJwk).not.toHaveProperty(member);
    }
  }

  /** Signs with the active key and verifies against the published set, as a relying party would. */
  /** `kids[0]` signs, and exactly `kids` are published, in this order (the active key first). */
  function expectPublished(keys: SigningKeySet, kids: readonly string[]): void {
    expect(keys.active.kid).toBe(kids[0]);
    expect(keys.published.map((k) => k.kid)).toEqual(kids);
  }

  async function roundTrip(keys: SigningKeySet): Promise<void> {
    const service = new PublishedKeys(keys);
    const token = await new SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: keys.active.alg, kid: keys.active.kid, typ: 'JWT' })
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(keys.active.privateKey);
    const { payload, protectedHeader } = await jwtVerify(token, service.verificationKeys);
    expect(payload.sub).toBe('alice');
    expect(protectedHeader.kid).toBe(keys.active.kid);
  }

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'actbridge-keys-'));
    ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    ec2 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    ed = generateKeyPairSync('ed25519');
  });

  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('production refuses an unset SIGNING_KEYS instead of generating a key', async () => {
    await expect(
      loadSigningKeys({ signingKeys: undefined, signingKeyId: undefined, signingAlg: 'ES256' }, 'production'),
    ).rejects.toThrow(new ConfigError('environment: SIGNING_KEYS: required in production'));
  });

  it('a key file that cannot be read: one line naming the file and the cause', async () => {
    const dir = keyDir({});
    mkdirSync(join(dir, 'key.json'));
    await expect(load(dir)).rejects.toThrow(
      new ConfigError(`${join(dir, 'key.json')}: cannot be read (EISDIR) (SIGNING_KEYS)`),
    );
    await expect(load(join(dir, 'nope.json'))).rejects.toThrow(
      new ConfigError(`${join(dir, 'nope.json')}: does not exist (SIGNING_KEYS)`),
    );
  });

  it('a key file that is a device, or larger than MAX_CONFIG_FILE_BYTES: refused before it is read', async () => {
    const dir = keyDir({});
    symlinkSync('/dev/null', join(dir, 'a.json'));
    await expect(load(dir)).rejects.toThrow(
      new ConfigError(`${join(dir, 'a.json')}: is not a regular file (SIGNING_KEYS)`),
    );
    const huge = join(keyDir({ 'k.pem': '' }), 'k.pem');
    truncateSync(huge, MAX_CONFIG_FILE_BYTES + 1); // sparse: nothing is written
    await expect(load(huge)).rejects.toThrow(
      new ConfigError(`${huge}: is larger than ${MAX_CONFIG_FILE_BYTES} bytes (SIGNING_KEYS)`),
    );
  });

  it('a key given inline instead of a path: refused without repeating it (a private key never reaches the logs)', async () => {
    const jwk = JSON.stringify(ec.privateKey.export({ format: 'jwk' }));
    const pem = ec.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const refusal = new ConfigError(
      'environment: SIGNING_KEYS: is not a path; give the path of a JWK/JWKS JSON file, a PEM file or a directory of them, not the key itself (the value is not repeated here)',
    );
    for (const inline of [jwk, ` {"keys":[${jwk}]}`, pem]) {
      await expect(load(inline)).rejects.toThrow(refusal);
    }
  });

  describe('SIGNING_KEYS unset: ephemeral development key', () => {
    it.each<SigningAlgorithm>(['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'])(
      'generates a %s key with a thumbprint kid',
      async (alg) => {
        const keys = await load(undefined, undefined, alg);
        expect(keys.ephemeral).toBe(true);
        expect(keys.active.alg).toBe(alg);
        expect(keys.active.privateKey).toBeInstanceOf(KeyObject);
        expect(keys.active.privateKey.type).toBe('private');
        expect(keys.published).toEqual([keys.active]);
        const { kid, alg: _alg, use, ...bare } = keys.active.publicJwk;
        expect(kid).toBe(keys.active.kid);
        expect(keys.active.kid).toBe(await calculateJwkThumbprint(bare, 'sha256'));
        expect(use).toBe('sig');
        expect(_alg).toBe(alg);
        expectNoPrivateMembers(keys);
        await roundTrip(keys);
      },
    );

    it('generates a different key each time', async () => {
      const [a, b] = await Promise.all([load(undefined), load(undefined)]);
      expect(a.active.kid).not.toBe(b.active.kid);
    });
  });

  describe('a directory of keys', () => {
    it('SIGNING_KEY_ID picks the active key; every key is published, active first', async () => {
      const dir = keyDir({
        'README.md': '# not a key', // skipped: only .json, .jwk and .pem files are keys
        'a.json': jwkOf(ec.privateKey, { kid: 'key-a' }),
        'b.json': jwkOf(ec2.privateKey, { kid: 'key-b' }),
        'c.json': jwkOf(rsa.publicKey, { kid: 'key-c' }),
      });
      const keys = await load(dir, 'key-b');
      expect(keys.ephemeral).toBe(false);
      expectPublished(keys, ['key-b', 'key-a', 'key-c']);
      expect(keys.published[0]).toBe(keys.active);
      const byKid = (kid: string) => keys.published.find((k) => k.kid === kid)!;
      expect(byKid('key-a').privateKey).toBeInstanceOf(KeyObject);
      expect(byKid('key-c').privateKey).toBeUndefined();
      expect(byKid('key-c').alg).toBe('RS256');
      expectNoPrivateMembers(keys);
      await roundTrip(keys);

      const other = await load(dir, 'key-a');
      expectPublished(other, ['key-a', 'key-b', 'key-c']);
    });

    it('a single private key is active without SIGNING_KEY_ID', async () => {
      const dir = keyDir({ 'a.json': jwkOf(ec.privateKey, { kid: 'only' }), 'pub.json': jwkOf(ec2.publicKey) });
      const keys = await load(dir);
      expect(keys.active.kid).toBe('only');
      expect(keys.published).toHaveLength(2);
    });

    it('several private keys and no SIGNING_KEY_ID: ConfigError naming SIGNING_KEY_ID', async () => {
      const dir = keyDir({
        'a.json': jwkOf(ec.privateKey, { kid: 'key-a' }),
        'b.json': jwkOf(ec2.privateKey, { kid: 'key-b' }),
      });
      const error = await load(dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain('SIGNING_KEY_ID');
    });

    it('SIGNING_KEY_ID not found: ConfigError', async () => {
      const dir = keyDir({
        'a.json': jwkOf(ec.privateKey, { kid: 'key-a' }),
        'c.json': jwkOf(rsa.publicKey, { kid: 'key-c' }),
      });
      await expect(load(dir, 'nope')).rejects.toThrow(ConfigError);
      await expect(load(dir, 'nope')).rejects.toThrow(/SIGNING_KEY_ID.*nope/);
      // A public-only key cannot be the active one.
      await expect(load(dir, 'key-c')).rejects.toThrow(ConfigError);
    });

    it('only public keys: ConfigError', async () => {
      const dir = keyDir({ 'c.json': jwkOf(rsa.publicKey, { kid: 'key-c' }) });
      await expect(load(dir)).rejects.toThrow(ConfigError);
    });

    it('accepts *.jwk files, ignores other extensions', async () => {
      const dir = keyDir({
        'a.jwk': jwkOf(ec.privateKey, { kid: 'key-a' }),
        'b.txt': jwkOf(ec2.privateKey, { kid: 'key-b' }),
      });
      const keys = await load(dir);
      expect(keys.published.map((k) => k.kid)).toEqual(['key-a']);
    });

    it('empty directory: ConfigError', async () => {
      await expect(load(keyDir({}))).rejects.toThrow(ConfigError);
      await expect(load(keyDir({ 'notes.txt': 'hello' }))).rejects.toThrow(ConfigError);
    });

    it('nonexistent path: ConfigError', async () => {
      await expect(load(join(root, 'does-not-exist'))).rejects.toThrow(ConfigError);
      await expect(load(join(root, 'does-not-exist.json'))).rejects.toThrow(/does not exist/);
    });

    it('duplicate kid across files: ConfigError', async () => {
      const dir = keyDir({
        'a.json': jwkOf(ec.privateKey, { kid: 'same' }),
        'b.json': jwkOf(ec2.publicKey, { kid: 'same' }),
      });
      await expect(load(dir)).rejects.toThrow(ConfigError);
      await expect(load(dir)).rejects.toThrow(/duplicate kid "same"/);
    });

    it('the same key twice without kid (same thumbprint): ConfigError', async () => {
      const dir = keyDir({ 'a.json': jwkOf(ec.privateKey), 'b.json': jwkOf(ec.publicKey) });
      await expect(load(dir)).rejects.toThrow(/duplicate kid/);
    });
  });

  describe('a key directory whose active key is marked by file name (*.active.json)', () => {
    it('the marked key signs; the others are published after it, private or not', async () => {
      const dir = keyDir({
        'k1.json': jwkOf(ec.privateKey, { kid: 'k1' }),
        'k2.active.json': jwkOf(ec2.privateKey, { kid: 'k2' }),
        'k0.json': jwkOf(rsa.publicKey, { kid: 'k0' }),
      });
      const keys = await load(dir);
      expectPublished(keys, ['k2', 'k0', 'k1']);
      expect(keys.active.file).toBe(join(dir, 'k2.active.json'));
      await roundTrip(keys);
    });

    it('.jwk and .pem files are marked the same way', async () => {
      const dir = keyDir({ 'a.active.pem': pemOf(ec.privateKey), 'b.jwk': jwkOf(ec2.privateKey, { kid: 'b' }) });
      const keys = await load(dir);
      expect(keys.active.kid).toBe(await calculateJwkThumbprint(jwkOf(ec.publicKey), 'sha256'));
    });

    it('two marked files: ConfigError naming both', async () => {
      const dir = keyDir({
        'k1.active.json': jwkOf(ec.privateKey, { kid: 'k1' }),
        'k2.active.json': jwkOf(ec2.privateKey, { kid: 'k2' }),
      });
      await expect(load(dir)).rejects.toThrow(
        new ConfigError(
          `${dir}: k1.active.json, k2.active.json are all marked active; exactly one key file may be named *.active.json (SIGNING_KEYS)`,
        ),
      );
    });

    it('a marked file without a private key, or with several keys: ConfigError naming it', async () => {
      const pub = keyDir({ 'k1.active.json': jwkOf(ec.publicKey, { kid: 'k1' }) });
      await expect(load(pub)).rejects.toThrow(
        new ConfigError(
          `${join(pub, 'k1.active.json')}: an active key file holds exactly one private key (SIGNING_KEYS)`,
        ),
      );
      const many = keyDir({
        'set.active.json': { keys: [jwkOf(ec.privateKey, { kid: 'k1' }), jwkOf(ec2.privateKey, { kid: 'k2' })] },
      });
      await expect(load(many)).rejects.toThrow(/set\.active\.json: an active key file holds exactly one private key/);
    });

    it('SIGNING_KEY_ID and a marked file together: ConfigError (one way to name the active key)', async () => {
      const dir = keyDir({ 'k1.active.json': jwkOf(ec.privateKey, { kid: 'k1' }) });
      await expect(load(dir, 'k1')).rejects.toThrow(
        new ConfigError(
          `SIGNING_KEY_ID: set while ${join(dir, 'k1.active.json')} is marked active; name the active key one way only (unset SIGNING_KEY_ID to rotate by file name)`,
        ),
      );
    });
  });

  describe('a single file', () => {
    it('a JWKS file with `keys`', async () => {
      const dir = keyDir({
        'jwks.json': {
          keys: [jwkOf(ec.privateKey, { kid: 'next' }), jwkOf(ec2.publicKey, { kid: 'old' }), jwkOf(rsa.publicKey)],
        },
      });
      const keys = await load(join(dir, 'jwks.json'));
      expectPublished(keys, ['next', 'old', await calculateJwkThumbprint(jwkOf(rsa.publicKey), 'sha256')]);
      expectNoPrivateMembers(keys);
      await roundTrip(keys);
    });

    it('a single JWK file; kid defaults to the RFC 7638 thumbprint', async () => {
      const dir = keyDir({ 'key.json': jwkOf(ec.privateKey) });
      const keys = await load(join(dir, 'key.json'));
      expect(keys.active.kid).toBe(await calculateJwkThumbprint(jwkOf(ec.publicKey), 'sha256'));
      expect(keys.active.publicJwk.kid).toBe(keys.active.kid);
    });

    it('a JWK file saved with a byte-order mark, as YAML and JWKS files are read', async () => {
      const dir = keyDir({ 'k.json': `\uFEFF${JSON.stringify(jwkOf(ec.privateKey, { kid: 'bom' }))}` });
      expect((await load(dir)).active.kid).toBe('bom');
    });

    it('invalid JSON: ConfigError', async () => {
      const dir = keyDir({ 'key.json': '{"kty": "EC",' });
      await expect(load(join(dir, 'key.json'))).rejects.toThrow(ConfigError);
    });

    it.each([
      ['null', 'null'],
      ['a number', '42'],
      ['a string', '"key"'],
      ['keys holding a non-object', '{"keys": [null]}'],
    ])('JSON that is not a JWK (%s): ConfigError', async (_name, content) => {
      const dir = keyDir({ 'key.json': content });
      await expect(load(join(dir, 'key.json'))).rejects.toThrow(ConfigError);
    });
  });

  describe('PEM files', () => {
    it('PKCS#8 EC private key → ES256, plus an SPKI public key published alongside', async () => {
      const dir = keyDir({ 'active.pem': pemOf(ec.privateKey), 'old.pem': pemOf(ec2.publicKey) });
      const keys = await load(dir, undefined, 'RS256');
      expect(keys.active.alg).toBe('ES256');
      expect(keys.active.kid).toBe(await calculateJwkThumbprint(jwkOf(ec.publicKey), 'sha256'));
      expect(keys.published).toHaveLength(2);
      expect(keys.published[1]!.privateKey).toBeUndefined();
      expect(keys.published[1]!.kid).toBe(await calculateJwkThumbprint(jwkOf(ec2.publicKey), 'sha256'));
      expectNoPrivateMembers(keys);
      await roundTrip(keys);
    });

    it('PKCS#8 RSA private key → RS256 by default, PS256 when SIGNING_ALG says so', async () => {
      const dir = keyDir({ 'rsa.pem': pemOf(rsa.privateKey) });
      const rs = await load(dir, undefined, 'ES256');
      expect(rs.active.alg).toBe('RS256');
      expectNoPrivateMembers(rs);
      await roundTrip(rs);
      const ps = await load(dir, undefined, 'PS256');
      expect(ps.active.alg).toBe('PS256');
      await roundTrip(ps);
    });

    it('SEC1 (EC PRIVATE KEY) and PKCS#1 (RSA PRIVATE KEY) private keys', async () => {
      const dir = keyDir({
        'ec.pem': ec.privateKey.export({ format: 'pem', type: 'sec1' }) as string,
        'rsa.pem': rsa.privateKey.export({ format: 'pem', type: 'pkcs1' }) as string,
      });
      const kidOfEc = await calculateJwkThumbprint(jwkOf(ec.publicKey), 'sha256');
      const keys = await load(dir, kidOfEc);
      expect(keys.active.alg).toBe('ES256');
      expect(keys.published.map((k) => k.alg)).toEqual(['ES256', 'RS256']);
      expect(keys.published.every((k) => k.privateKey !== undefined)).toBe(true);
    });

    it('Ed25519 PKCS#8 private key → EdDSA', async () => {
      const dir = keyDir({ 'ed.pem': pemOf(ed.privateKey) });
      const keys = await load(dir, undefined, 'ES256');
      expect(keys.active.alg).toBe('EdDSA');
      await roundTrip(keys);
    });

    it('garbage or passphrase-protected PEM: ConfigError', async () => {
      const encrypted = ec.privateKey.export({
        format: 'pem',
        type: 'pkcs8',
        cipher: 'aes-256-cbc',
        passphrase: 'secret',
      }) as string;
      await expect(load(keyDir({ 'enc.pem': encrypted }))).rejects.toThrow(ConfigError);
      await expect(
        load(keyDir({ 'junk.pem': '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' })),
      ).rejects.toThrow(ConfigError);
      await expect(load(keyDir({ 'junk.pem': 'not a pem at all' }))).rejects.toThrow(ConfigError);
    });
  });

  describe('algorithm', () => {
    it.each<[string, SigningAlgorithm, string, () => JWK]>([
      ['P-256', 'RS256', 'ES256', () => jwkOf(ec.privateKey)],
      ['P-384', 'ES256', 'ES384', () => jwkOf(ec384.privateKey)],
      ['RSA', 'ES256', 'RS256', () => jwkOf(rsa.privateKey)],
      ['RSA', 'RS256', 'RS256', () => jwkOf(rsa.privateKey)],
      ['RSA', 'PS256', 'PS256', () => jwkOf(rsa.privateKey)],
      ['Ed25519', 'ES256', 'EdDSA', () => jwkOf(ed.privateKey)],
      ['RSA with its own alg PS384', 'RS256', 'PS384', () => jwkOf(rsa.privateKey, { alg: 'PS384' })],
    ])('inferred from the key: %s with SIGNING_ALG %s → %s', async (_name, signingAlg, expected, jwk) => {
      const dir = keyDir({ 'k.json': jwk() });
      const keys = await load(dir, undefined, signingAlg);
      expect(keys.active.alg).toBe(expected);
      expect(keys.active.publicJwk.alg).toBe(expected);
      await roundTrip(keys);
    });

    it.each<[string, () => JWK]>([
      ['EC P-256 key with alg RS256', () => jwkOf(ec.privateKey, { alg: 'RS256' })],
      ['EC P-256 key with alg ES384', () => jwkOf(ec.privateKey, { alg: 'ES384' })],
      ['RSA key with alg ES256', () => jwkOf(rsa.privateKey, { alg: 'ES256' })],
      ['Ed25519 key with alg ES256', () => jwkOf(ed.privateKey, { alg: 'ES256' })],
    ])('mismatched alg: %s → ConfigError', async (_name, jwk) => {
      await expect(load(keyDir({ 'k.json': jwk() }))).rejects.toThrow(ConfigError);
    });

    it('symmetric oct key: ConfigError', async () => {
      const oct = { kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA', alg: 'HS256', kid: 'hmac' };
      await expect(load(keyDir({ 'k.json': oct }))).rejects.toThrow(ConfigError);
    });

    it('the key type is named as written in the message (no "oct:undefined"); a JWK without kty says so', async () => {
      const oct = keyDir({ 'k.json': { kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA' } });
      await expect(load(oct)).rejects.toThrow(
        new ConfigError(
          `${join(oct, 'k.json')}: keys[0]: unsupported key type oct; use RSA, EC P-256/384/521 or Ed25519 (SIGNING_KEYS)`,
        ),
      );
      const { kty: _kty, ...untyped } = jwkOf(ec.privateKey);
      const none = keyDir({ 'k.json': untyped });
      await expect(load(none)).rejects.toThrow(
        new ConfigError(`${join(none, 'k.json')}: keys[0]: "kty" must be a key type (SIGNING_KEYS)`),
      );
    });

    it('unsupported curve (secp256k1, X25519): ConfigError', async () => {
      const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey;
      const x = generateKeyPairSync('x25519').privateKey;
      await expect(load(keyDir({ 'k.json': jwkOf(k1) }))).rejects.toThrow(ConfigError);
      await expect(load(keyDir({ 'k.json': jwkOf(x) }))).rejects.toThrow(ConfigError);
    });

    it('`use: enc`: ConfigError', async () => {
      await expect(load(keyDir({ 'k.json': jwkOf(ec.privateKey, { use: 'enc' }) }))).rejects.toThrow(ConfigError);
      await expect(load(keyDir({ 'k.json': jwkOf(ec.publicKey, { use: 'enc' }) }))).rejects.toThrow(/"use"/);
    });

    it.each<[string, () => JWK, string]>([
      ['a private key for decryption', () => jwkOf(rsa.privateKey, { key_ops: ['decrypt', 'unwrapKey'] }), '"sign"'],
      ['a private key for verification only', () => jwkOf(ec.privateKey, { key_ops: ['verify'] }), '"sign"'],
      ['a private key for key agreement', () => jwkOf(ec.privateKey, { key_ops: ['deriveBits'] }), '"sign"'],
      ['a public key for encryption', () => jwkOf(rsa.publicKey, { key_ops: ['encrypt'] }), '"verify" or "sign"'],
      ['key_ops that is no list', () => jwkOf(ec.privateKey, { key_ops: 'sign' as unknown as string[] }), '"sign"'],
    ])('`key_ops` of %s: ConfigError naming the file (RFC 7517 §4.3)', async (_name, jwk, operations) => {
      const dir = keyDir({ 'k.json': jwk() });
      await expect(load(dir)).rejects.toThrow(
        new ConfigError(`${join(dir, 'k.json')}: keys[0]: "key_ops" must include ${operations} (SIGNING_KEYS)`),
      );
    });

    it('`key_ops` naming the key\'s use: a private ["sign"] signs, a public ["verify"] (or the ["sign"] of its private part) is published', async () => {
      const keys = await load(
        keyDir({
          'a.json': jwkOf(ec.privateKey, { kid: 'a', key_ops: ['sign'] }),
          'b.json': jwkOf(ec2.publicKey, { kid: 'b', key_ops: ['verify'] }),
          'c.json': jwkOf(ec384.publicKey, { kid: 'c', key_ops: ['sign'] }),
        }),
      );
      expectPublished(keys, ['a', 'b', 'c']);
      await roundTrip(keys);
    });

    it('a JWK whose coordinates are not a valid key: ConfigError', async () => {
      const broken = { ...jwkOf(ec.privateKey), x: 'AAAA' };
      await expect(load(keyDir({ 'k.json': broken }))).rejects.toThrow(ConfigError);
    });

    // A key imported from a JWK keeps its public members as written: its tokens would verify with no published key.
    it.each<[string, () => JWK]>([
      ['EC', () => ({ ...jwkOf(ec.privateKey), x: jwkOf(ec2.publicKey).x, y: jwkOf(ec2.publicKey).y })],
      [
        'RSA',
        () => ({ ...jwkOf(rsa.privateKey), n: jwkOf(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey).n }),
      ],
    ])('an %s JWK whose "d" belongs to another public key: ConfigError naming the file', async (_name, jwk) => {
      const dir = keyDir({ 'k.json': jwk() });
      await expect(load(dir)).rejects.toThrow(
        new ConfigError(
          `${join(dir, 'k.json')}: keys[0]: the private key ("d") does not belong to the public key written with it (SIGNING_KEYS)`,
        ),
      );
    });

    it.each<[string, unknown]>([
      ['a number', 5],
      ['an object', { id: 'sts-1' }],
      ['empty', ''],
    ])('a kid that is %s: ConfigError naming the file', async (_name, kid) => {
      const dir = keyDir({ 'k.json': { ...jwkOf(ec.privateKey), kid } });
      await expect(load(dir)).rejects.toThrow(
        new ConfigError(`${join(dir, 'k.json')}: keys[0]: "kid" must be a non-empty string (SIGNING_KEYS)`),
      );
    });

    it('a JWK whose x5c certifies another key: ConfigError; its own certificate is published', async () => {
      const pems = await generate([{ name: 'commonName', value: 'sts' }], { keySize: 2048, algorithm: 'sha256' });
      const x5c = [new X509Certificate(pems.cert).raw.toString('base64')];
      const own = keyDir({ 'k.json': { ...jwkOf(createPrivateKey(pems.private)), x5c } });
      expect((await load(own)).active.publicJwk.x5c).toEqual(x5c);
      const dir = keyDir({ 'k.json': { ...jwkOf(rsa.privateKey), x5c } });
      await expect(load(dir)).rejects.toThrow(
        new ConfigError(
          `${join(dir, 'k.json')}: keys[0]: x5c: its first certificate is not of this key (SIGNING_KEYS)`,
        ),
      );
    });

    it('an RSA key the signer will refuse (1024-bit modulus): ConfigError at load, not at first token', async () => {
      const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
      // jose (which mints actbridge's tokens) refuses this key, so loading it only defers the failure.
      await expect(new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).sign(weak)).rejects.toThrow(/2048/);
      await expect(load(keyDir({ 'k.json': jwkOf(weak) }))).rejects.toThrow(ConfigError);
    });
  });

  it('published JWKs never contain private members, whatever the source', async () => {
    const dir = keyDir({
      'a.json': jwkOf(rsa.privateKey, { kid: 'rsa' }),
      'b.json': { keys: [jwkOf(ec.privateKey, { kid: 'ec' }), jwkOf(ed.privateKey, { kid: 'ed' })] },
      'c.pem': pemOf(ec384.privateKey),
      'd.json': jwkOf(ec2.publicKey, { kid: 'pub' }),
    });
    const keys = await load(dir, 'rsa');
    expect(keys.published).toHaveLength(5);
    expectNoPrivateMembers(keys);
    const service = new PublishedKeys(keys);
    expect(JSON.stringify(service.jwks)).not.toMatch(/"(d|p|q|dp|dq|qi|oth|k)":/);
    for (const key of keys.published) expect(key.publicJwk.use).toBe('sig');
  });

  it('publishes only the public parameters: an operator note or an unknown member of the file stays out of the JWKS', async () => {
    const keys = await load(
      keyDir({
        'k.json': { ...jwkOf(ec.privateKey, { kid: 'noted' }), comment: 'from vault path secret/prod/sts', priv: 'x' },
      }),
    );
    expect(Object.keys(keys.active.publicJwk).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    await roundTrip(keys);
  });

  it('a private JWK exported by WebCrypto (key_ops ["sign"], ext) is published as a usable verification key', async () => {
    const pair = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const exported = await webcrypto.subtle.exportKey('jwk', pair.privateKey);
    expect(exported.key_ops).toEqual(['sign']);
    const keys = await load(keyDir({ 'k.json': { ...exported, kid: 'webcrypto' } }));
    expect(keys.active.publicJwk.key_ops ?? ['verify']).toContain('verify');
    await roundTrip(keys);
  });
});

describe('PublishedKeys', () => {
  let root: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'actbridge-keyservice-'));
  });

  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('publishes the loaded keys and verifies tokens signed by the active key', async () => {
    const active = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const retired = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(root, 'active.json'), JSON.stringify(jwkOf(active.privateKey, { kid: 'active' })));
    writeFileSync(join(root, 'retired.json'), JSON.stringify(jwkOf(retired.publicKey, { kid: 'retired' })));
    const keys = await loadSigningKeys({ signingKeys: root, signingKeyId: undefined, signingAlg: 'ES256' });
    const service = new PublishedKeys(keys);

    expect(service.jwks.keys.map((k) => k.kid)).toEqual(['active', 'retired']);
    expect(service.jwks.keys).toEqual(keys.published.map((k: SigningKey) => k.publicJwk));
    expect(service.active).toBe(keys.active);
    expect(service.ephemeral).toBe(false);
    expect(service.algorithms).toEqual(['ES256', 'RS256']);

    const token = await new SignJWT({ sub: 'alice', act: { sub: 'agent' } })
      .setProtectedHeader({ alg: keys.active.alg, kid: keys.active.kid })
      .setIssuer('https://sts.example.test')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(keys.active.privateKey);
    expect(decodeProtectedHeader(token).kid).toBe('active');
    const { payload } = await jwtVerify(token, service.verificationKeys, { issuer: 'https://sts.example.test' });
    expect(payload).toMatchObject({ sub: 'alice', act: { sub: 'agent' } });

    // The published JWKS, served over HTTP, works the same for a relying party.
    const rp = createLocalJWKSet(JSON.parse(JSON.stringify(service.jwks)));
    await expect(jwtVerify(token, rp)).resolves.toBeDefined();

    // A token signed by another key with the same kid is rejected.
    const forged = await new SignJWT({ sub: 'mallory' })
      .setProtectedHeader({ alg: 'ES256', kid: 'active' })
      .sign(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    await expect(jwtVerify(forged, service.verificationKeys)).rejects.toThrow();
  });

  it('an ephemeral key set works the same', async () => {
    const keys = await loadSigningKeys(
      { signingKeys: undefined, signingKeyId: undefined, signingAlg: 'EdDSA' },
      'development',
    );
    const service = new PublishedKeys(keys);
    expect(service.ephemeral).toBe(true);
    expect(service.jwks.keys).toHaveLength(1);
    const token = await new SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: 'EdDSA', kid: keys.active.kid })
      .sign(keys.active.privateKey);
    await expect(jwtVerify(token, service.verificationKeys)).resolves.toBeDefined();
  });
});
