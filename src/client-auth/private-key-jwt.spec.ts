import { describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import type { ClientConfig } from '../clients/client.config.js';
import type { ServerConfig } from '../config/server-config.js';
import { MemoryReplayStore } from '../stores/memory-replay-store.js';
import { PrivateKeyJwtVerifier } from './private-key-jwt.js';

const ISSUER = 'https://sts.example.com';

async function clientWithKey(clientId: string): Promise<{ client: ClientConfig; key: CryptoKey }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const client = {
    client_id: clientId,
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'k', alg: 'ES256' }] },
  } as unknown as ClientConfig;
  return { client, key: privateKey };
}

function assertion(clientId: string, jti: string, key: CryptoKey): Promise<string> {
  return new SignJWT({ jti })
    .setProtectedHeader({ alg: 'ES256', kid: 'k' })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(ISSUER)
    .setIssuedAt()
    .setExpirationTime('60s')
    .sign(key);
}

describe('PrivateKeyJwtVerifier: single use of client assertions', () => {
  const verifier = new PrivateKeyJwtVerifier(
    { issuer: ISSUER, clockSkew: 0, clientAssertionMaxLifetime: 300 } as ServerConfig,
    new MemoryReplayStore(),
  );

  // Client ids are any printable ASCII, ':' included: client "a" with jti "b:c" must not spend the jti
  // "c" of client "a:b" (RFC 7523 §3 item 7: a jti is unique per issuer, the client).
  it("keeps each client's jtis apart, whatever their client_ids and jtis contain", async () => {
    const a = await clientWithKey('a');
    const ab = await clientWithKey('a:b');
    await expect(verifier.verify(a.client, await assertion('a', 'b:c', a.key))).resolves.toBeUndefined();
    await expect(verifier.verify(ab.client, await assertion('a:b', 'c', ab.key))).resolves.toBeUndefined();
    await expect(verifier.verify(ab.client, await assertion('a:b', 'c', ab.key))).rejects.toMatchObject({
      error: 'invalid_client',
      description: 'client_assertion has already been used (jti replay)',
    });
  });
});
