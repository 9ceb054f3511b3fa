import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

/**
 * A trust anchor under the test's full control (static JWKS): mints well-formed and hostile JWTs alike.
 * Upstream *flows* are tested against oidc-provider (upstream-idp.ts); this is for exact edge cases.
 */
export interface TestIssuer {
  readonly issuer: string;
  readonly kid: string;
  readonly publicJwks: { keys: JWK[] };
  readonly privateKey: CryptoKey;
  /** Signs `claims` (iss, iat, exp, jti filled in unless given; pass undefined to omit). */
  mint(claims: JWTPayload, header?: Record<string, unknown>): Promise<string>;
  /**
   * Signs exactly this header and payload, bypassing jose's own sanity checks (for hostile tokens); a
   * string payload is taken as the JSON text itself (for numbers JSON.stringify cannot write, e.g. 1e400).
   */
  signRaw(header: Record<string, unknown>, payload: Record<string, unknown> | string): Promise<string>;
}

export async function createTestIssuer(
  issuer: string,
  alg: 'ES256' | 'RS256' = 'ES256',
  kid = `${alg}-${randomUUID().slice(0, 8)}`,
): Promise<TestIssuer> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return {
    issuer,
    kid,
    publicJwks: { keys: [publicJwk] },
    privateKey,
    async mint(claims, header = {}) {
      const now = Math.floor(Date.now() / 1000);
      const payload: JWTPayload = { iss: issuer, iat: now, exp: now + 300, jti: randomUUID(), ...claims };
      for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
      const protectedHeader = { alg, kid, typ: 'at+jwt', ...header } as Record<string, unknown>;
      for (const [k, v] of Object.entries(protectedHeader)) if (v === undefined) delete protectedHeader[k];
      return new SignJWT(payload).setProtectedHeader(protectedHeader as { alg: string }).sign(privateKey);
    },
    async signRaw(header, payload) {
      const encodedPayload = typeof payload === 'string' ? Buffer.from(payload).toString('base64url') : b64(payload);
      const input = `${b64(header)}.${encodedPayload}`;
      const algorithm = alg === 'ES256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'RSASSA-PKCS1-v1_5' };
      const signature = await crypto.subtle.sign(algorithm, privateKey, new TextEncoder().encode(input));
      return `${input}.${Buffer.from(signature).toString('base64url')}`;
    },
  };
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
