import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

/** A client's DPoP key pair (RFC 9449) and its RFC 7638 thumbprint (`cnf.jkt`). */
export interface DpopKey {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly publicJwk: JWK;
  readonly jkt: string;
}

export async function newDpopKey(): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { privateKey, publicKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk, 'sha256') };
}

/** A DPoP proof for a POST to `htu`; overrides of claims and header (undefined removes one). */
export function dpopProof(
  htu: string,
  key: DpopKey,
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
): Promise<string> {
  const payload: Record<string, unknown> = {
    jti: randomUUID(),
    htm: 'POST',
    htu,
    iat: Math.floor(Date.now() / 1000),
    ...claims,
  };
  const protectedHeader: Record<string, unknown> = { alg: 'ES256', typ: 'dpop+jwt', jwk: key.publicJwk, ...header };
  for (const record of [payload, protectedHeader]) {
    for (const [k, v] of Object.entries(record)) if (v === undefined) delete record[k];
  }
  return new SignJWT(payload).setProtectedHeader(protectedHeader as { alg: string }).sign(key.privateKey);
}
