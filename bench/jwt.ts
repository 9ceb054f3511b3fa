import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';

/**
 * ES256 JWTs with node:crypto's synchronous sign/verify on KeyObjects. The harness mints its request
 * tokens with these (fast, off the measured path) and the node:crypto floor measures them.
 */
export interface Es256Key {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** Public JWK with kid, alg and use, as an issuer publishes it. */
  readonly publicJwk: JWK;
  /** Private JWK with kid and alg (for SIGNING_KEYS files and the minimal peer). */
  readonly privateJwk: JWK;
}

export function generateEs256Key(kid = `bench-${randomUUID().slice(0, 8)}`): Es256Key {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return fromPrivateKey(privateKey, publicKey, kid);
}

export function es256KeyFromJwk(privateJwk: JWK): Es256Key {
  const privateKey = createPrivateKey({ key: privateJwk as import('node:crypto').JsonWebKey, format: 'jwk' });
  return fromPrivateKey(privateKey, createPublicKey(privateKey), privateJwk.kid!);
}

function fromPrivateKey(privateKey: KeyObject, publicKey: KeyObject, kid: string): Es256Key {
  const publicJwk = { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, alg: 'ES256', use: 'sig' };
  const privateJwk = { ...(privateKey.export({ format: 'jwk' }) as JWK), kid, alg: 'ES256' };
  return { kid, privateKey, publicKey, publicJwk, privateJwk };
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Signs a compact JWS (ES256, ieee-p1363 signature as RFC 7518 §3.4 requires). */
export function signEs256(key: Es256Key, payload: Record<string, unknown>, typ = 'JWT'): string {
  const input = `${b64({ alg: 'ES256', kid: key.kid, typ })}.${b64(payload)}`;
  const signature = sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
