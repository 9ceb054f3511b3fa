/**
 * The DEMO identity provider (trust-anchors/demo-idp.yaml): its private key is public
 * (examples/demo-idp/private-key.jwk.json), so whatever it mints is trusted only under `start-dev`.
 * `npm run demo:tokens` and the development playground mint with it.
 */
import { readFile } from 'node:fs/promises';
import { importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { clock } from '../common/clock.js';

export const DEMO_IDP_ISSUER = 'https://demo-idp.actbridge.invalid';
/** The `aud` the demo IdP puts in tokens meant for actbridge (the demo anchor's `audiences`). */
export const DEMO_IDP_AUDIENCE = 'urn:actbridge:demo';

// Same depth from src/demo-idp and dist/demo-idp: the checkout's examples/ folder.
const KEY_FILE = new URL('../../examples/demo-idp/private-key.jwk.json', import.meta.url);

export class DemoIdp {
  private constructor(
    private readonly key: CryptoKey | Uint8Array,
    private readonly kid: string,
  ) {}

  /** Reads the demo key; fails where the checkout's examples/ is absent (the runtime artifact). */
  static async load(file: URL | string = KEY_FILE): Promise<DemoIdp> {
    const jwk = JSON.parse(await readFile(file, 'utf8')) as JWK;
    return new DemoIdp(await importJWK(jwk, 'ES256'), jwk.kid!);
  }

  /** A user's JWT access token (RFC 9068 `at+jwt`), scope "read write", addressed to actbridge. */
  userToken(sub = 'alice'): Promise<string> {
    return this.mint('at+jwt', { sub, client_id: 'demo-portal', scope: 'read write' });
  }

  /** An agent's own token, presented as `actor_token`. */
  agentToken(sub = 'agent-1'): Promise<string> {
    return this.mint('JWT', { sub });
  }

  /** The user's OpenID Connect ID token, issued to `clientId` (Cross App Access). */
  idToken(sub = 'alice', clientId = 'chat-agent'): Promise<string> {
    const now = clock.seconds();
    return this.mint(
      'JWT',
      { sub, email: `${sub}@example.com`, email_verified: true, auth_time: now, amr: ['pwd'], acr: 'urn:demo:loa:1' },
      clientId,
    );
  }

  private mint(typ: string, claims: Record<string, unknown>, audience = DEMO_IDP_AUDIENCE): Promise<string> {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: this.kid, typ })
      .setIssuer(DEMO_IDP_ISSUER)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime('1h')
      .setJti(crypto.randomUUID())
      .sign(this.key);
  }
}
