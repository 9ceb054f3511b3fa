import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importJWK, SignJWT, type JWK } from 'jose';
import { EXAMPLE_DIR } from './example-config.js';

/**
 * The enterprise SSO of the runnable example: actbridge's DEMO identity provider, whose private key is
 * public (examples/demo-idp/), so the enterprise anchor trusting it is `development_only`. It stands in
 * for the ID token the MCP client receives when its user signs in (EMA §3).
 */
export const DEMO_SSO_ISSUER = 'https://demo-idp.actbridge.invalid';

export interface DemoUser {
  readonly sub: string;
  readonly email: string;
  readonly groups: readonly string[];
}

export async function demoIdToken(user: DemoUser, clientId: string): Promise<string> {
  const jwk = JSON.parse(readFileSync(join(EXAMPLE_DIR, '../demo-idp/private-key.jwk.json'), 'utf8')) as JWK;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    email: user.email,
    email_verified: true,
    groups: [...user.groups],
    auth_time: now,
    amr: ['pwd'],
  })
    .setProtectedHeader({ alg: 'ES256', kid: jwk.kid!, typ: 'JWT' })
    .setIssuer(DEMO_SSO_ISSUER)
    .setSubject(user.sub)
    .setAudience(clientId)
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(await importJWK(jwk, 'ES256'));
}
