import { randomUUID, sign, verify } from 'node:crypto';
import { join } from 'node:path';
import { importJWK, jwtVerify, SignJWT, type CryptoKey } from 'jose';
import { generateEs256Key, nowSeconds, signEs256 } from './jwt.js';
import { median } from './open-loop.js';

/**
 * The floor: one exchange's unavoidable work, in-process, without HTTP — verify an ES256 JWT and sign a
 * new one — run back to back on one thread. Measured with jose (WebCrypto, async) and with node:crypto's
 * synchronous sign/verify on KeyObjects (R || S signatures converted as actbridge converts them).
 */
export interface FloorResult {
  /** jose, one exchange at a time. */
  readonly jose: number;
  /** jose, 32 exchanges in flight: WebCrypto runs its jobs on libuv's thread pool, so this uses both cores. */
  readonly joseConcurrent: number;
  readonly nodeCrypto: number;
}

const ISSUER = 'https://idp.bench.example';
const AUDIENCE = 'https://sts.bench.example';

function tokens(count: number) {
  const upstream = generateEs256Key('floor-upstream');
  const now = nowSeconds();
  const list = Array.from({ length: count }, () =>
    signEs256(
      upstream,
      { iss: ISSUER, sub: 'alice', aud: AUDIENCE, iat: now, exp: now + 3600, jti: randomUUID(), scope: 'read' },
      'at+jwt',
    ),
  );
  return { upstream, list };
}

/** Exchanges per second with jose: jwtVerify (claims checked) + SignJWT, `inFlight` at a time. */
export async function joseFloor(seconds: number, inFlight = 1): Promise<number> {
  const { upstream, list } = tokens(64);
  const signer = generateEs256Key('floor-sts');
  const verifyKey = (await importJWK(upstream.publicJwk, 'ES256')) as CryptoKey;
  const signKey = (await importJWK(signer.privateJwk, 'ES256')) as CryptoKey;
  const end = performance.now() + seconds * 1000;
  let n = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const { payload } = await jwtVerify(list[n % list.length]!, verifyKey, {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['ES256'],
      });
      const now = nowSeconds();
      await new SignJWT({
        sub: payload.sub,
        aud: 'https://api.example/',
        act: { sub: 'caller' },
        iat: now,
        exp: now + 900,
      })
        .setProtectedHeader({ alg: 'ES256', kid: signer.kid, typ: 'at+jwt' })
        .sign(signKey);
      n++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return n / seconds;
}

/** actbridge's ECDSA signature conversions (dist/jose/ecdsa-signature.js). */
interface EcdsaCodec {
  p1363ToDer(signature: Uint8Array, size: number): Buffer | undefined;
  derToP1363(der: Uint8Array, size: number): Buffer;
}

/**
 * Exchanges per second with node:crypto: sync verify + the same claim checks + sync sign, on bare
 * KeyObjects with the R || S signatures converted from and to DER as actbridge does (the `{ key,
 * dsaEncoding }` form costs about 40 µs more per signature on Node 24: docs/performance-notes.md).
 */
export function nodeCryptoFloor(seconds: number, ecdsa: EcdsaCodec): number {
  const { upstream, list } = tokens(64);
  const signer = generateEs256Key('floor-sts');
  const header = b64({ alg: 'ES256', kid: signer.kid, typ: 'at+jwt' });
  const end = performance.now() + seconds * 1000;
  let n = 0;
  while (performance.now() < end) {
    const token = list[n % list.length]!;
    const dot = token.lastIndexOf('.');
    const der = ecdsa.p1363ToDer(Buffer.from(token.slice(dot + 1), 'base64url'), 32);
    if (der === undefined || !verify('sha256', Buffer.from(token.slice(0, dot)), upstream.publicKey, der)) {
      throw new Error('signature is invalid');
    }
    const payload = JSON.parse(Buffer.from(token.slice(token.indexOf('.') + 1, dot), 'base64url').toString('utf8')) as {
      [claim: string]: unknown;
    };
    const now = nowSeconds();
    if (payload.iss !== ISSUER || payload.aud !== AUDIENCE || (payload.exp as number) <= now) throw new Error('claims');
    const input = `${header}.${b64({ sub: payload.sub, aud: 'https://api.example/', act: { sub: 'caller' }, iat: now, exp: now + 900 })}`;
    // The issued token, as the server would send it (and then discard).
    void `${input}.${ecdsa.derToP1363(sign('sha256', Buffer.from(input), signer.privateKey), 32).toString('base64url')}`;
    n++;
  }
  return n / seconds;
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Each floor `runs` times; the median of each. */
export async function measureFloor(seconds: number, runs: number, root: string): Promise<FloorResult> {
  const ecdsa = (await import(join(root, 'dist/jose/ecdsa-signature.js'))) as EcdsaCodec;
  const jose: number[] = [];
  const joseConcurrent: number[] = [];
  const nodeCrypto: number[] = [];
  await joseFloor(Math.min(1, seconds)); // warm-up (JIT, key import caches)
  nodeCryptoFloor(Math.min(1, seconds), ecdsa);
  for (let i = 0; i < runs; i++) {
    jose.push(await joseFloor(seconds));
    joseConcurrent.push(await joseFloor(seconds, 32));
    nodeCrypto.push(nodeCryptoFloor(seconds, ecdsa));
  }
  return { jose: median(jose), joseConcurrent: median(joseConcurrent), nodeCrypto: median(nodeCrypto) };
}
