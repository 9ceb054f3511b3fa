import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { importJWK, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose';

/**
 * The minimal peer: what a user would hand-write instead of running an STS. Bare Fastify + jose: parse
 * the form, verify the subject JWT against one local key (issuer, audience, expiry, algorithm), sign a
 * new token naming the caller as actor. No client authentication, no policy, no audit, no logging.
 */
export interface MinimalPeerOptions {
  /** Issuer whose tokens are accepted, and its public key. */
  readonly trustedIssuer: string;
  readonly trustedKey: JWK;
  /** `aud` the subject token must carry. */
  readonly audience: string;
  /** This peer's issuer and signing key (private JWK with kid). */
  readonly issuer: string;
  readonly signingKey: JWK;
}

export async function createMinimalPeer(options: MinimalPeerOptions): Promise<FastifyInstance> {
  const verifyKey = (await importJWK(options.trustedKey, 'ES256')) as CryptoKey;
  const signKey = (await importJWK(options.signingKey, 'ES256')) as CryptoKey;
  const app = Fastify({ logger: false });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) =>
    done(null, new URLSearchParams(body as string)),
  );
  app.post('/token', async (request, reply) => {
    const form = request.body as URLSearchParams;
    const subjectToken = form.get('subject_token');
    reply.header('cache-control', 'no-store');
    if (!subjectToken) return reply.code(400).send({ error: 'invalid_request' });
    let payload;
    try {
      ({ payload } = await jwtVerify(subjectToken, verifyKey, {
        issuer: options.trustedIssuer,
        audience: options.audience,
        algorithms: ['ES256'],
      }));
    } catch {
      return reply.code(400).send({ error: 'invalid_request' });
    }
    const now = Math.floor(Date.now() / 1000);
    const accessToken = await new SignJWT({
      sub: payload.sub,
      aud: form.get('audience') ?? options.audience,
      scope: payload.scope,
      act: { sub: 'caller' },
      iat: now,
      exp: Math.min(now + 900, payload.exp ?? now + 900),
      jti: randomUUID(),
      iss: options.issuer,
    })
      .setProtectedHeader({ alg: 'ES256', kid: options.signingKey.kid, typ: 'at+jwt' })
      .sign(signKey);
    return {
      access_token: accessToken,
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      expires_in: 900,
    };
  });
  return app;
}
