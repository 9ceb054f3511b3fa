import { beforeAll, describe, expect, it } from '@jest/globals';
import { ClientSecretVerifier, DEFAULT_SCRYPT, derive, hashClientSecret, parseSecretHash } from './client-secret.js';

const FAST = { ln: 10, r: 8, p: 1 } as const;
const SECRET = 'correct-horse-battery-staple-0123456789';

/** Same salt and hash, other parameters: the hash string still looks valid. */
function withParams(hash: string, params: string): string {
  return hash.replace(/^\$scrypt\$[^$]+\$/, `$scrypt$${params}$`);
}

/** Flips one character of the given base64url segment (3 = salt, 4 = hash). */
function tamper(hash: string, segment: 3 | 4): string {
  const parts = hash.split('$');
  const value = parts[segment]!; // ['', 'scrypt', params, salt, hash]
  const last = value.at(-2)!; // not the last character, whose low bits may be padding
  parts[segment] = value.slice(0, -2) + (last === 'A' ? 'B' : 'A') + value.slice(-1);
  return parts.join('$');
}

describe('hashClientSecret', () => {
  it('produces the documented $scrypt$ln=..,r=..,p=..$salt$hash format', async () => {
    const hash = await hashClientSecret(SECRET, FAST);
    expect(hash).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  });

  it('uses DEFAULT_SCRYPT (ln=15, r=8, p=1) when no parameters are given', async () => {
    expect(DEFAULT_SCRYPT).toEqual({ ln: 15, r: 8, p: 1 });
    const hash = await hashClientSecret(SECRET);
    expect(hash.startsWith('$scrypt$ln=15,r=8,p=1$')).toBe(true);
    expect(await new ClientSecretVerifier().verify('c', SECRET, { hash })).toBe(true);
  });

  it('salts every hash', async () => {
    const [a, b] = await Promise.all([hashClientSecret(SECRET, FAST), hashClientSecret(SECRET, FAST)]);
    expect(a).not.toBe(b);
    expect(a.split('$')[4]).not.toBe(b.split('$')[4]);
  });
});

describe('ClientSecretVerifier.verify', () => {
  let hash: string;
  let otherParamsHash: string;

  beforeAll(async () => {
    hash = await hashClientSecret(SECRET, FAST);
    otherParamsHash = await hashClientSecret(SECRET, { ln: 11, r: 4, p: 2 });
  });

  interface Row {
    name: string;
    presented: string;
    stored: () => { plaintext?: string; hash?: string };
    expect: boolean;
  }

  const rows: Row[] = [
    // Plaintext.
    { name: 'plaintext match', presented: SECRET, stored: () => ({ plaintext: SECRET }), expect: true },
    {
      name: 'plaintext mismatch',
      presented: 'wrong-secret-000000',
      stored: () => ({ plaintext: SECRET }),
      expect: false,
    },
    { name: 'plaintext prefix', presented: SECRET.slice(0, -1), stored: () => ({ plaintext: SECRET }), expect: false },
    {
      name: 'plaintext with extra suffix',
      presented: `${SECRET}x`,
      stored: () => ({ plaintext: SECRET }),
      expect: false,
    },
    { name: 'plaintext, empty presented', presented: '', stored: () => ({ plaintext: SECRET }), expect: false },
    {
      name: 'plaintext is case-sensitive',
      presented: SECRET.toUpperCase(),
      stored: () => ({ plaintext: SECRET }),
      expect: false,
    },
    // Hash.
    { name: 'hash round-trip', presented: SECRET, stored: () => ({ hash }), expect: true },
    {
      name: 'hash round-trip with other valid parameters',
      presented: SECRET,
      stored: () => ({ hash: otherParamsHash }),
      expect: true,
    },
    { name: 'hash, wrong secret', presented: 'wrong-secret-000000', stored: () => ({ hash }), expect: false },
    { name: 'hash, empty secret', presented: '', stored: () => ({ hash }), expect: false },
    { name: 'hash, tampered hash bytes', presented: SECRET, stored: () => ({ hash: tamper(hash, 4) }), expect: false },
    { name: 'hash, tampered salt', presented: SECRET, stored: () => ({ hash: tamper(hash, 3) }), expect: false },
    { name: 'hash, truncated hash', presented: SECRET, stored: () => ({ hash: hash.slice(0, -4) }), expect: false },
    // The right secret against its salt and hash under other scrypt parameters: changed, or out of bounds.
    ...(
      [
        ['hash, parameters changed (ln=11)', 'ln=11,r=8,p=1'],
        ['hash, out of bounds ln=25', 'ln=25,r=8,p=1'],
        ['hash, out of bounds ln=9', 'ln=9,r=8,p=1'],
        ['hash, out of bounds r=0', 'ln=10,r=0,p=1'],
        ['hash, out of bounds r=33', 'ln=10,r=33,p=1'],
        ['hash, out of bounds p=0', 'ln=10,r=8,p=0'],
        ['hash, out of bounds p=17', 'ln=10,r=8,p=17'],
        // RFC 7914 §2: N < 2^(128·r/8); scrypt itself refuses ln=16 with r=1 (was a 500 at each authentication).
        ['hash, N not below 2^(16r) (ln=16, r=1)', 'ln=16,r=1,p=1'],
      ] as const
    ).map(([name, params]) => ({
      name,
      presented: SECRET,
      stored: () => ({ hash: withParams(hash, params) }),
      expect: false,
    })),
    { name: 'hash, not the $scrypt$ format', presented: SECRET, stored: () => ({ hash: SECRET }), expect: false },
    {
      name: 'hash, other algorithm name',
      presented: SECRET,
      stored: () => ({ hash: hash.replace('$scrypt$', '$argon2$') }),
      expect: false,
    },
    { name: 'neither plaintext nor hash', presented: SECRET, stored: () => ({}), expect: false },
  ];

  // Parsed only (no scrypt run): each per-parameter bound allows these, but one run costs more than 256 MiB·p.
  it.each([
    ['4 GiB of memory', 'ln=20,r=32,p=1'],
    ['1 GiB of memory', 'ln=20,r=8,p=1'],
    ['16 lanes of 32 MiB', 'ln=15,r=8,p=16'],
    ['16 lanes of 1 GiB', 'ln=20,r=8,p=16'],
  ])('refuses a hash whose one run costs %s (%s)', (_name, params) => {
    expect(parseSecretHash(withParams(hash, params))).toBeUndefined();
  });

  it.each(['ln=15,r=8,p=1', 'ln=18,r=8,p=1', 'ln=17,r=8,p=2', 'ln=16,r=2,p=16'])(
    'accepts %s (256 MiB at most)',
    (params) => {
      expect(parseSecretHash(withParams(hash, params))?.params).toBeDefined();
    },
  );

  it.each(rows)('$name → $expect', async ({ presented, stored, expect: expected }) => {
    expect(await new ClientSecretVerifier().verify('client-1', presented, stored())).toBe(expected);
  });

  it('the per-client cache does not accept a different secret after a successful one', async () => {
    const verifier = new ClientSecretVerifier();
    expect(await verifier.verify('client-1', SECRET, { hash })).toBe(true);
    expect(await verifier.verify('client-1', 'wrong-secret-000000', { hash })).toBe(false);
    expect(await verifier.verify('client-1', '', { hash })).toBe(false);
    // The right one is still accepted, from the cache or not.
    expect(await verifier.verify('client-1', SECRET, { hash })).toBe(true);
  });

  it('a secret verified for one client does not carry over to another client or another hash', async () => {
    const verifier = new ClientSecretVerifier();
    const otherHash = await hashClientSecret('another-secret-for-client-2', FAST);
    expect(await verifier.verify('client-1', SECRET, { hash })).toBe(true);
    expect(await verifier.verify('client-2', SECRET, { hash: otherHash })).toBe(false);
    expect(await verifier.verify('client-1', SECRET, { hash: otherHash })).toBe(false);
  });

  it('a tampered hash is refused even after the original verified (cache keyed by the stored hash)', async () => {
    const verifier = new ClientSecretVerifier();
    expect(await verifier.verify('client-1', SECRET, { hash })).toBe(true);
    expect(await verifier.verify('client-1', SECRET, { hash: tamper(hash, 4) })).toBe(false);
    expect(await verifier.verify('client-1', SECRET, { hash: withParams(hash, 'ln=25,r=8,p=1') })).toBe(false);
  });

  it('a failed attempt does not poison the cache for the right secret', async () => {
    const verifier = new ClientSecretVerifier();
    expect(await verifier.verify('client-1', 'wrong-secret-000000', { hash })).toBe(false);
    expect(await verifier.verify('client-1', SECRET, { hash })).toBe(true);
  });

  it('concurrent verifications of the same secret share one scrypt run; other secrets run their own', async () => {
    let runs = 0;
    const counting: typeof derive = (...args) => {
      runs++;
      return derive(...args);
    };
    const verifier = new ClientSecretVerifier(counting);
    const results = await Promise.all([
      ...Array.from({ length: 20 }, () => verifier.verify('client-1', SECRET, { hash })),
      ...Array.from({ length: 5 }, () => verifier.verify('client-1', 'wrong-secret-000000', { hash })),
    ]);
    expect(results.slice(0, 20)).toEqual(Array(20).fill(true));
    expect(results.slice(20)).toEqual(Array(5).fill(false));
    expect(runs).toBe(2);
    // Settled flights are forgotten: a wrong secret is derived again, the right one comes from the cache.
    expect(await verifier.verify('client-1', 'wrong-secret-000000', { hash })).toBe(false);
    expect(await verifier.verify('client-1', SECRET, { hash })).toBe(true);
    expect(runs).toBe(3);
  });
});
