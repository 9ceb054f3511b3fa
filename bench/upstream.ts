import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';
import { generateEs256Key, nowSeconds, signEs256, type Es256Key } from './jwt.js';
import { randomUUID } from 'node:crypto';

/**
 * The upstream identity provider actbridge trusts in the benchmark: OIDC discovery metadata and a JWKS
 * served on loopback from the harness process (actbridge finds the JWKS through discovery, as with a
 * real IdP), and a signer for its tokens. Counts the JWKS fetches for the kid test.
 */
export interface UpstreamIssuer {
  readonly issuer: string;
  readonly key: Es256Key;
  /** Fetches of the JWKS so far. */
  readonly jwksFetches: number;
  /** When the JWKS was last fetched (ms epoch), 0 if never. */
  readonly lastJwksFetchAt: number;
  /** Publishes another key (a rotation: the next key appears in the JWKS before tokens use it). */
  publish(key: Es256Key): void;
  /** An upstream access token (RFC 9068, typ at+jwt) for `sub`, addressed to `audience`. */
  mint(claims: { sub: string; aud: string; scope?: string }, key?: Es256Key): string;
  /** An OpenID Connect ID token (typ JWT) for `sub`, issued to the client `aud`. */
  mintIdToken(claims: { sub: string; aud: string }): string;
  /** Any JWT signed with the issuer's key (e.g. an ID-JAG, typ oauth-id-jag+jwt). */
  sign(payload: Record<string, unknown>, typ: string): string;
  close(): Promise<void>;
}

export async function startUpstreamIssuer(kid = 'upstream-1'): Promise<UpstreamIssuer> {
  const key = generateEs256Key(kid);
  const published: JWK[] = [key.publicJwk];
  let jwksFetches = 0;
  let lastJwksFetchAt = 0;
  let issuer = '';
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?', 1)[0];
    let body: unknown;
    if (path === '/.well-known/openid-configuration') {
      body = {
        issuer,
        jwks_uri: `${issuer}/jwks.json`,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['ES256'],
      };
    } else if (path === '/jwks.json') {
      jwksFetches += 1;
      lastJwksFetchAt = Date.now();
      body = { keys: published };
    }
    if (body === undefined) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    key,
    get jwksFetches() {
      return jwksFetches;
    },
    get lastJwksFetchAt() {
      return lastJwksFetchAt;
    },
    publish(next) {
      published.push(next.publicJwk);
    },
    mint({ sub, aud, scope }, signer = key) {
      const now = nowSeconds();
      return signEs256(
        signer,
        { iss: issuer, sub, aud, client_id: 'upstream-app', iat: now, exp: now + 3600, jti: randomUUID(), scope },
        'at+jwt',
      );
    },
    mintIdToken({ sub, aud }) {
      const now = nowSeconds();
      return signEs256(key, { iss: issuer, sub, aud, iat: now, exp: now + 3600, auth_time: now - 60 }, 'JWT');
    },
    sign: (payload, typ) => signEs256(key, payload, typ),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
