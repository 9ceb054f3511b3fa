import { beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  CompactSign,
  compactVerify,
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import { jwsSigner, jwsVerifier, type JwsVerifier } from './jws-algorithms.js';
import { decodeJoseHeader, verifyJwt } from './jwt-verify.js';
import { VerifiedSignatures } from './verified-signatures.js';

/**
 * verifyJwt must decide exactly as jose's jwtVerify does: every row runs both on the same token and
 * expects the same payload or the same error class (and, for claim failures, the same claim and reason).
 */
const ALGS = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA'] as const;
type Alg = (typeof ALGS)[number];

const ISSUER = 'https://idp.example';
const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

interface KeyPair {
  readonly alg: Alg;
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicJwk: JWK;
}

function keyPair(alg: Alg, kid: string): KeyPair {
  const pair = alg.startsWith('ES')
    ? generateKeyPairSync('ec', { namedCurve: { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[alg as 'ES256']! })
    : alg === 'EdDSA'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    alg,
    kid,
    privateKey: pair.privateKey,
    publicJwk: { ...(pair.publicKey.export({ format: 'jwk' }) as JWK), kid, alg },
  };
}

/** Signs exactly this header and payload (hostile ones included) with the pair's key. */
async function signRaw(
  pair: KeyPair,
  header: Record<string, unknown>,
  payload: Record<string, unknown> | string,
): Promise<string> {
  const input = `${b64(header)}.${typeof payload === 'string' ? payload : b64(payload)}`;
  return `${input}.${await jwsSigner(pair.alg, pair.privateKey)(input)}`;
}

/** Signs exactly these encoded segments, so a header that is not even JSON can carry a valid signature. */
async function signSegments(pair: KeyPair, header: string, payload: string): Promise<string> {
  const input = `${header}.${payload}`;
  return `${input}.${await jwsSigner(pair.alg, pair.privateKey)(input)}`;
}

async function outcome(run: () => Promise<{ payload: unknown }>): Promise<unknown> {
  try {
    return { ok: (await run()).payload };
  } catch (error) {
    const e = error as { name: string; code?: string; claim?: string; reason?: string };
    return { error: e.name, code: e.code, claim: e.claim, reason: e.reason, message: (error as Error).message };
  }
}

describe('verifyJwt decides as jose jwtVerify', () => {
  const pairs = new Map<Alg, KeyPair>();
  let keys: JWTVerifyGetKey;
  let other: KeyPair;

  beforeAll(() => {
    for (const alg of ALGS) pairs.set(alg, keyPair(alg, `k-${alg}`));
    other = keyPair('ES256', 'k-ES256'); // same kid, another key: a forgery
    keys = createLocalJWKSet({ keys: [...pairs.values()].map((p) => p.publicJwk) } as JSONWebKeySet);
  });

  const claims = () => ({ iss: ISSUER, sub: 'alice', aud: 'sts', iat: now(), exp: now() + 300, jti: 'j1' });
  const options: JWTVerifyOptions & { algorithms: string[] } = {
    algorithms: [...ALGS],
    issuer: ISSUER,
    clockTolerance: 30,
    requiredClaims: ['exp', 'sub'],
  };

  async function expectSame(token: string, opts = options): Promise<unknown> {
    const ours = await outcome(() => verifyJwt(token, keys, opts));
    const theirs = await outcome(() => jwtVerify(token, keys, opts));
    expect(ours).toEqual(theirs);
    return ours;
  }

  it.each(ALGS)('a valid %s token verifies, with the same payload', async (alg) => {
    const pair = pairs.get(alg)!;
    const result = await expectSame(await signRaw(pair, { alg, kid: pair.kid, typ: 'at+jwt' }, claims()));
    expect(result).toMatchObject({ ok: { sub: 'alice' } });
  });

  it.each(ALGS)('%s keys from a jose key set take the node:crypto path', async (alg) => {
    const pair = pairs.get(alg)!;
    const key = await keys({ alg, kid: pair.kid }, { payload: '', signature: '' });
    expect(jwsVerifier(alg, key)).toBeInstanceOf(Function);
    // ...and only for the algorithm the key was imported for.
    const otherAlg = alg === 'ES256' ? 'ES384' : alg === 'PS256' ? 'RS256' : 'ES256';
    expect(jwsVerifier(otherAlg, key)).toBeUndefined();
  });

  it.each(ALGS)('a %s token signed by jose verifies', async (alg) => {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'jose', alg };
    const token = await new SignJWT(claims()).setProtectedHeader({ alg, kid: 'jose' }).sign(privateKey);
    const ours = await verifyJwt(token, createLocalJWKSet({ keys: [jwk] }), options);
    expect(ours.payload.sub).toBe('alice');
  });

  const es = () => pairs.get('ES256')!;
  const hostile: Array<[string, () => string | Promise<string>, Partial<JWTVerifyOptions>?]> = [
    ['signed by another key under the same kid', () => signRaw(other, { alg: 'ES256', kid: 'k-ES256' }, claims())],
    [
      'payload swapped after signing',
      async () => {
        const [h, , s] = (await signRaw(es(), { alg: 'ES256', kid: es().kid }, claims())).split('.');
        return `${h}.${b64({ ...claims(), sub: 'mallory' })}.${s}`;
      },
    ],
    ['signature truncated', async () => (await signRaw(es(), { alg: 'ES256', kid: es().kid }, claims())).slice(0, -4)],
    [
      'empty signature',
      async () => (await signRaw(es(), { alg: 'ES256', kid: es().kid }, claims())).replace(/\.[^.]+$/, '.'),
    ],
    ['alg none', () => `${b64({ alg: 'none' })}.${b64(claims())}.`],
    [
      'alg not on the allowlist',
      () => signRaw(es(), { alg: 'ES256', kid: es().kid }, claims()),
      { algorithms: ['RS256'] },
    ],
    ['alg and key disagree (ES256 header, RSA kid)', () => signRaw(es(), { alg: 'ES256', kid: 'k-RS256' }, claims())],
    ['RS256 header on a PS256 key', () => signRaw(pairs.get('PS256')!, { alg: 'RS256', kid: 'k-PS256' }, claims())],
    ['HS256 (symmetric)', () => `${b64({ alg: 'HS256', kid: 'k-ES256' })}.${b64(claims())}.c2ln`],
    ['unknown kid', () => signRaw(es(), { alg: 'ES256', kid: 'nope' }, claims())],
    ['crit header', () => signRaw(es(), { alg: 'ES256', kid: es().kid, crit: ['exp'], exp: 1 }, claims())],
    ['b64 false', () => signRaw(es(), { alg: 'ES256', kid: es().kid, crit: ['b64'], b64: false }, claims())],
    ['b64 without crit', () => signRaw(es(), { alg: 'ES256', kid: es().kid, b64: true }, claims())],
    ['empty alg', () => signRaw(es(), { alg: '', kid: es().kid }, claims())],
    ['expired', () => signRaw(es(), { alg: 'ES256', kid: es().kid }, { ...claims(), exp: now() - 60 })],
    ['not yet valid', () => signRaw(es(), { alg: 'ES256', kid: es().kid }, { ...claims(), nbf: now() + 600 })],
    ['wrong issuer', () => signRaw(es(), { alg: 'ES256', kid: es().kid }, { ...claims(), iss: 'https://evil' })],
    ['no exp', () => signRaw(es(), { alg: 'ES256', kid: es().kid }, { ...claims(), exp: undefined })],
    ['exp not a number', () => signRaw(es(), { alg: 'ES256', kid: es().kid }, { ...claims(), exp: 'soon' })],
    [
      'too old for maxTokenAge',
      () => signRaw(es(), { alg: 'ES256', kid: es().kid }, { ...claims(), iat: now() - 3600 }),
      { maxTokenAge: 60 },
    ],
    [
      'payload not JSON',
      () => signRaw(es(), { alg: 'ES256', kid: es().kid }, Buffer.from('nope').toString('base64url')),
    ],
    ['payload a JSON array', () => signRaw(es(), { alg: 'ES256', kid: es().kid }, b64([1, 2]))],
    ['header not JSON', () => `${Buffer.from('{').toString('base64url')}.${b64(claims())}.c2ln`],
    ['two segments', () => `${b64({ alg: 'ES256' })}.${b64(claims())}`],
    // The header is decoded with Buffer, not jose's atob loop: the same input must give the same answer.
    ['signed header a JSON array', () => signSegments(es(), b64(['ES256']), b64(claims()))],
    ['signed header JSON null', () => signSegments(es(), b64(null), b64(claims()))],
    [
      'signed header not UTF-8',
      () =>
        signSegments(
          es(),
          Buffer.concat([
            Buffer.from(`{"alg":"ES256","kid":"${es().kid}","x":"`),
            Buffer.from([0xff]),
            Buffer.from('"}'),
          ]).toString('base64url'),
          b64(claims()),
        ),
    ],
    [
      'signed header with a UTF-8 byte order mark',
      () =>
        signSegments(
          es(),
          Buffer.concat([
            Buffer.from([0xef, 0xbb, 0xbf]),
            Buffer.from(JSON.stringify({ alg: 'ES256', kid: es().kid })),
          ]).toString('base64url'),
          b64(claims()),
        ),
    ],
    [
      'signed header of 4n+1 base64url characters',
      () => {
        // A whole header (4n characters) and one more, which decodes to nothing.
        let header = b64({ alg: 'ES256', kid: es().kid });
        for (let pad = ''; header.length % 4 !== 0; pad += 'x') header = b64({ alg: 'ES256', kid: es().kid, pad });
        return signSegments(es(), `${header}A`, b64(claims()));
      },
    ],
    [
      'signed header with non-zero trailing bits',
      () => {
        let header = b64({ alg: 'ES256', kid: es().kid });
        for (let pad = ''; header.length % 4 === 0 || header.length % 4 === 1; pad += 'x') {
          header = b64({ alg: 'ES256', kid: es().kid, pad });
        }
        // The last character's lowest bit is never part of a decoded byte (4n+2 or 4n+3 characters).
        const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
        const last = alphabet[alphabet.indexOf(header.at(-1)!) ^ 1]!;
        return signSegments(es(), header.slice(0, -1) + last, b64(claims()));
      },
    ],
    [
      'characters outside base64url',
      async () => (await signRaw(es(), { alg: 'ES256', kid: es().kid }, claims())).replace(/\.([^.]+)$/, '.+$1'),
    ],
    [
      'typ required and wrong',
      () => signRaw(es(), { alg: 'ES256', kid: es().kid, typ: 'JWT' }, claims()),
      { typ: 'at+jwt' },
    ],
    [
      'typ required and right',
      () => signRaw(es(), { alg: 'ES256', kid: es().kid, typ: 'application/at+jwt' }, claims()),
      { typ: 'at+jwt' },
    ],
    ['audience required, wrong', () => signRaw(es(), { alg: 'ES256', kid: es().kid }, claims()), { audience: 'x' }],
    ['subject required, wrong', () => signRaw(es(), { alg: 'ES256', kid: es().kid }, claims()), { subject: 'bob' }],
  ];

  it.each(hostile)('%s', async (_name, token, extra = {}) => {
    await expectSame(await token(), { ...options, ...extra });
  });

  it.each(hostile)(
    '%s: decodeJoseHeader reads it as jose does, and verifyJwt given that header decides the same',
    async (_name, token, extra = {}) => {
      const jwt = await token();
      const header = decodeJoseHeader(jwt);
      let theirs: unknown;
      try {
        theirs = decodeProtectedHeader(jwt);
      } catch {
        theirs = 'refused';
      }
      expect(header ?? 'refused').toEqual(theirs);
      const opts = { ...options, ...extra };
      expect(await outcome(() => verifyJwt(jwt, keys, opts, header))).toEqual(
        await outcome(() => jwtVerify(jwt, keys, opts)),
      );
    },
  );

  it.each(hostile)('%s: decided as by jose twice over with remembered signatures', async (_name, token, extra = {}) => {
    const jwt = await token();
    const opts = { ...options, ...extra };
    const memo = new VerifiedSignatures(100);
    // The same claims validly signed, remembered first: a hostile variant must not ride on its entry.
    for (const pair of pairs.values())
      await verifyJwt(await signRaw(pair, { alg: pair.alg, kid: pair.kid }, claims()), keys, options, undefined, memo);
    const theirs = await outcome(() => jwtVerify(jwt, keys, opts));
    expect(await outcome(() => verifyJwt(jwt, keys, opts, undefined, memo))).toEqual(theirs);
    expect(await outcome(() => verifyJwt(jwt, keys, opts, undefined, memo))).toEqual(theirs);
  });

  it('an RSA key under 2048 bits is refused as by jose', async () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const jwk = { ...(small.publicKey.export({ format: 'jwk' }) as JWK), kid: 'small', alg: 'RS256' };
    const { createSign } = await import('node:crypto');
    const input = `${b64({ alg: 'RS256', kid: 'small' })}.${b64(claims())}`;
    const token = `${input}.${createSign('sha256').update(input).sign(small.privateKey).toString('base64url')}`;
    const set = createLocalJWKSet({ keys: [jwk] });
    const ours = await outcome(() => verifyJwt(token, set, options));
    expect(ours).toEqual(await outcome(() => jwtVerify(token, set, options)));
    expect(ours).not.toHaveProperty('ok');
  });
});

describe.each(['pool', 'inline'] as const)('signing and verifying on the %s thread', (thread) => {
  const pairs = new Map(ALGS.map((alg) => [alg, keyPair(alg, `t-${alg}`)]));
  const verifierOf = async (alg: Alg): Promise<JwsVerifier> => {
    const key = await importJWK(pairs.get(alg)!.publicJwk, alg);
    return jwsVerifier(alg, key, thread)!;
  };
  const inputFor = (alg: Alg): string => `${b64({ alg })}.${b64({ sub: 'alice' })}`;

  it.each(ALGS)('%s: what it signs, jose verifies, and what jose signs, it verifies', async (alg) => {
    const pair = pairs.get(alg)!;
    const input = inputFor(alg);
    const signature = await jwsSigner(alg, pair.privateKey, thread)(input);
    const key = await importJWK(pair.publicJwk, alg);
    await expect(compactVerify(`${input}.${signature}`, key)).resolves.toBeDefined();
    const theirs = await new CompactSign(Buffer.from('payload'))
      .setProtectedHeader({ alg })
      .sign(await importJWK({ ...pair.privateKey.export({ format: 'jwk' }), alg } as JWK, alg));
    const [header, payload, sig] = theirs.split('.') as [string, string, string];
    await expect((await verifierOf(alg))(`${header}.${payload}`, Buffer.from(sig, 'base64url'))).resolves.toBe(true);
  });

  it.each(ALGS)('%s: refuses an altered input, a flipped bit, and a signature one byte short or long', async (alg) => {
    const pair = pairs.get(alg)!;
    const input = inputFor(alg);
    const signature = Buffer.from(await jwsSigner(alg, pair.privateKey, thread)(input), 'base64url');
    const verifier = await verifierOf(alg);
    await expect(verifier(input, signature)).resolves.toBe(true);
    await expect(verifier(`${input}x`, signature)).resolves.toBe(false);
    const flipped = Buffer.from(signature);
    flipped[flipped.length - 1]! ^= 1;
    await expect(verifier(input, flipped)).resolves.toBe(false);
    for (const wrong of [signature.subarray(1), Buffer.concat([signature, Buffer.alloc(1)]), Buffer.alloc(0)]) {
      await expect(verifier(input, wrong).catch(() => false)).resolves.toBe(false);
    }
  });

  it('hands out one verifier per key and algorithm, and none for an algorithm the key was not imported for', async () => {
    const key = await importJWK(pairs.get('ES256')!.publicJwk, 'ES256');
    expect(jwsVerifier('ES256', key, thread)).toBe(jwsVerifier('ES256', key, thread));
    expect(jwsVerifier('ES384', key, thread)).toBeUndefined();
    expect(jwsVerifier('constructor', key, thread)).toBeUndefined();
  });
});

describe('verifyJwt with remembered signatures', () => {
  const pair = keyPair('ES256', 'm1');
  const options = { algorithms: ['ES256'], issuer: ISSUER, requiredClaims: ['exp', 'sub'] };
  const claims = () => ({ iss: ISSUER, sub: 'alice', iat: now(), exp: now() + 300 });
  const setOf = (...jwks: JWK[]) => createLocalJWKSet({ keys: jwks });
  /** The key object the set hands out for the pair's kid (a jose key set always hands out the same one). */
  const keyIn = (set: JWTVerifyGetKey) => set({ alg: 'ES256', kid: 'm1' }, { payload: '', signature: '' });

  it('remembers a valid signature with its key, and a token seen again still has its claims checked', async () => {
    const memo = new VerifiedSignatures(10);
    const keys = setOf(pair.publicJwk);
    const token = await signRaw(pair, { alg: 'ES256', kid: 'm1' }, claims());
    await expect(verifyJwt(token, keys, options, undefined, memo)).resolves.toMatchObject({
      payload: { sub: 'alice' },
    });
    expect(memo.verified(memo.idOf(token)!, (await keyIn(keys)) as object)).toBe(true);
    await expect(verifyJwt(token, keys, options, undefined, memo)).resolves.toMatchObject({
      payload: { sub: 'alice' },
    });
    expect(memo.size).toBe(1);
    // A hit skips the signature only: later than exp, the same token is refused as jose refuses it.
    const later = { ...options, currentDate: new Date((now() + 3600) * 1000) };
    await expect(verifyJwt(token, keys, later, undefined, memo)).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
    await expect(
      verifyJwt(token, keys, { ...options, issuer: 'https://other' }, undefined, memo),
    ).rejects.toMatchObject({
      code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
      claim: 'iss',
    });
  });

  it('a key replaced under the same kid matches nothing remembered with the old one', async () => {
    const memo = new VerifiedSignatures(10);
    const token = await signRaw(pair, { alg: 'ES256', kid: 'm1' }, claims());
    await verifyJwt(token, setOf(pair.publicJwk), options, undefined, memo);
    const rotated = keyPair('ES256', 'm1').publicJwk;
    await expect(verifyJwt(token, setOf(rotated), options, undefined, memo)).rejects.toMatchObject({
      code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    });
    // The same key material imported afresh is another key object: verified again, then remembered.
    const reimported = setOf(pair.publicJwk);
    await expect(verifyJwt(token, reimported, options, undefined, memo)).resolves.toBeDefined();
    expect(memo.verified(memo.idOf(token)!, (await keyIn(reimported)) as object)).toBe(true);
  });

  it('a key that left the set resolves nothing, remembered or not', async () => {
    const memo = new VerifiedSignatures(10);
    const token = await signRaw(pair, { alg: 'ES256', kid: 'm1' }, claims());
    await verifyJwt(token, setOf(pair.publicJwk), options, undefined, memo);
    await expect(
      verifyJwt(token, setOf(keyPair('ES256', 'm2').publicJwk), options, undefined, memo),
    ).rejects.toMatchObject({
      code: 'ERR_JWKS_NO_MATCHING_KEY',
    });
  });

  it('remembers no failure, and a remembered signature does not carry another header or payload', async () => {
    const memo = new VerifiedSignatures(10);
    const keys = setOf(pair.publicJwk);
    const token = await signRaw(pair, { alg: 'ES256', kid: 'm1' }, claims());
    await verifyJwt(token, keys, options, undefined, memo);
    const [header, , signature] = token.split('.');
    const forged = `${header}.${b64({ ...claims(), sub: 'mallory' })}.${signature}`;
    const reheadered = `${b64({ alg: 'ES256', kid: 'm1', typ: 'JWT' })}.${token.split('.')[1]}.${signature}`;
    for (const bad of [forged, reheadered, forged, reheadered]) {
      await expect(verifyJwt(bad, keys, options, undefined, memo)).rejects.toMatchObject({
        code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
      });
    }
    expect(memo.size).toBe(1);
  });

  it('forgets the oldest beyond its capacity, and remembers nothing at capacity 0', async () => {
    const keys = setOf(pair.publicJwk);
    const key = (await keyIn(keys)) as object;
    const tokens = await Promise.all(
      [1, 2, 3].map((n) => signRaw(pair, { alg: 'ES256', kid: 'm1' }, { ...claims(), n })),
    );
    const memo = new VerifiedSignatures(2);
    for (const token of tokens) await verifyJwt(token, keys, options, undefined, memo);
    expect(tokens.map((token) => memo.verified(memo.idOf(token)!, key))).toEqual([false, true, true]);
    const off = new VerifiedSignatures(0);
    await expect(verifyJwt(tokens[0]!, keys, options, undefined, off)).resolves.toBeDefined();
    expect(off.idOf(tokens[0]!)).toBeUndefined();
    expect(off.size).toBe(0);
  });
});

describe('jwsSigner', () => {
  it('refuses a key that does not fit the algorithm', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(() => jwsSigner('ES384', ec.privateKey)).toThrow(TypeError);
    expect(() => jwsSigner('RS256', ec.privateKey)).toThrow(TypeError);
    expect(() => jwsSigner('ES256', ec.publicKey)).toThrow(TypeError);
    expect(() => jwsSigner('HS256', ec.privateKey)).toThrow(TypeError);
    expect(() => jwsSigner('RS256', generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey)).toThrow(TypeError);
  });
});
