import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { MAX_LIST_BYTES, RevocationListPoller } from './revocation-list.js';

const ISSUER = 'https://sts.example';

/** A real HTTP server serving whatever list the test sets, with ETag handling as actbridge does it. */
let server: Server;
let url: string;
let body: string | undefined;
let etag = '"1"';
let fetches = 0;
/** Answer 304 whatever the request (a stale cache, or a forged answer). */
let always304 = false;
/** Announce a body beyond MAX_LIST_BYTES (and send a little of it). */
let oversized = false;
/** Redirect the list's URL to another path of the same server, which serves the list. */
let redirected = false;
let key: CryptoKey;
let other: CryptoKey;
let keys: ReturnType<typeof createLocalJWKSet>;
const pollers: RevocationListPoller[] = [];

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  key = pair.privateKey;
  other = (await generateKeyPair('ES256')).privateKey;
  keys = createLocalJWKSet({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k', alg: 'ES256' }] });
  server = createServer((request, response) => {
    fetches++;
    if (always304) return void response.writeHead(304).end();
    if (redirected && request.url === '/oauth/revocations') {
      return void response.writeHead(302, { location: '/moved/revocations' }).end();
    }
    if (oversized) {
      response.writeHead(200, { 'content-length': String(MAX_LIST_BYTES + 1) }).write('x');
      return void setTimeout(() => response.destroy(), 50);
    }
    if (body === undefined) return void response.writeHead(503).end();
    if (request.headers['if-none-match'] === etag) return void response.writeHead(304).end();
    response.writeHead(200, { etag, 'content-type': 'application/revocation-list+jwt' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/revocations`;
});
afterEach(() => {
  for (const poller of pollers.splice(0)) poller.close();
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const now = () => Math.floor(Date.now() / 1000);
function list(revoked: Array<{ jti: string; exp: number }>, claims: JWTPayload = {}, typ = 'revocation-list+jwt') {
  return new SignJWT({ revoked, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: 'k', typ })
    .setIssuer(claims.iss ?? ISSUER)
    .setIssuedAt(claims.iat ?? now())
    .setExpirationTime((claims.iat ?? now()) + 300)
    .sign(claims.sub === 'other-key' ? other : key);
}
function poller(options: { maxStaleness?: number; refreshInterval?: number } = {}, clockTolerance = 5) {
  const p = new RevocationListPoller(url, keys, {
    issuer: ISSUER,
    algorithms: ['ES256'],
    clockTolerance,
    timeout: 2,
    options: { refreshInterval: 3600, ...options },
  });
  pollers.push(p);
  return p;
}

describe('RevocationListPoller', () => {
  it('reads no answer beyond MAX_LIST_BYTES: refused as stale, the reason in its detail', async () => {
    oversized = true;
    try {
      await expect(poller().isRevoked('a')).rejects.toMatchObject({
        error: 'temporarily_unavailable',
        detail: `revocation list larger than ${MAX_LIST_BYTES} bytes`,
      });
    } finally {
      oversized = false;
    }
  });

  // As actbridge's own fetches and jose's JWKS fetch: the list is read from the URL configured or
  // published, not from wherever an answer for it points (a redirect could lead the poller anywhere).
  it('follows no redirect: a 3xx is a failed refresh, refused as stale with the status in its detail', async () => {
    body = await list([{ jti: 'a', exp: now() + 60 }]);
    redirected = true;
    try {
      await expect(poller().isRevoked('a')).rejects.toMatchObject({
        error: 'temporarily_unavailable',
        detail: 'HTTP 302',
      });
    } finally {
      redirected = false;
    }
  });

  it('answers from the list it holds; a 304 keeps it; a new list replaces it', async () => {
    body = await list([{ jti: 'a', exp: now() + 60 }]);
    const p = poller();
    await expect(p.isRevoked('a')).resolves.toBe(true);
    await expect(p.isRevoked('b')).resolves.toBe(false);
    const before = fetches;
    await p.refresh(); // 304
    expect(fetches).toBe(before + 1);
    await expect(p.isRevoked('a')).resolves.toBe(true);
    body = await list([{ jti: 'b', exp: now() + 60 }]);
    etag = '"2"';
    await p.refresh();
    await expect(p.isRevoked('b')).resolves.toBe(true);
    await expect(p.isRevoked('a')).resolves.toBe(false);
  });

  it.each([
    ['another typ', () => list([], {}, 'JWT')],
    ['another signer', () => list([], { sub: 'other-key' })],
    ['another issuer', () => list([], { iss: 'https://evil.example' })],
    ['an expired list', () => list([], { iat: now() - 1000 })],
    ['a malformed entry', () => list([{ jti: 'x' } as unknown as { jti: string; exp: number }])],
  ])('refuses %s: the list held before stays in use', async (_name, make) => {
    etag = `"${Math.random()}"`;
    body = await list([{ jti: 'kept', exp: now() + 60 }]);
    const p = poller();
    await expect(p.isRevoked('kept')).resolves.toBe(true);
    etag = `"${Math.random()}"`;
    body = await make();
    await p.refresh();
    await expect(p.isRevoked('kept')).resolves.toBe(true);
  });

  it('keeps refusing a revoked token the new list dropped at its exp, while clockTolerance still accepts it', async () => {
    etag = '"before-exp"';
    body = await list([{ jti: 'revoked-long-ago', exp: now() + 1 }]);
    const p = poller();
    await expect(p.isRevoked('revoked-long-ago')).resolves.toBe(true);
    await new Promise((resolve) => setTimeout(resolve, (now() + 2) * 1000 - Date.now()));
    // actbridge's list no longer names it: the token has expired, but verify accepts it 5 s longer.
    etag = '"after-exp"';
    body = await list([]);
    await p.refresh();
    await expect(p.isRevoked('revoked-long-ago')).resolves.toBe(true);
  });

  it('revalidates with If-None-Match only while the list held is unexpired; then fetches it afresh', async () => {
    // A list expiring in 2 s, and an ETag a 304 keeps answering for (a stale cache, a forged 304).
    etag = '"frozen"';
    body = await list([], { iat: now() - 298 });
    const p = poller({}, 0);
    await expect(p.isRevoked('revoked-since')).resolves.toBe(false);
    await new Promise((resolve) => setTimeout(resolve, (now() + 3) * 1000 - Date.now()));
    body = await list([{ jti: 'revoked-since', exp: now() + 60 }]);
    await p.refresh();
    // Past its exp, the list held is not revalidated by a 304 but replaced.
    await expect(p.isRevoked('revoked-since')).resolves.toBe(true);
  });

  it('a 304 to a list past its exp is not a successful refresh: it goes stale', async () => {
    etag = '"frozen-2"';
    body = await list([], { iat: now() - 298 });
    const p = poller({ maxStaleness: 1 }, 0);
    await expect(p.isRevoked('a')).resolves.toBe(false);
    await new Promise((resolve) => setTimeout(resolve, (now() + 3) * 1000 - Date.now()));
    always304 = true;
    try {
      await p.refresh();
    } finally {
      always304 = false;
    }
    await expect(p.isRevoked('a')).rejects.toMatchObject({
      error: 'temporarily_unavailable',
      detail: '304 for a list past its exp',
    });
  });

  it('refuses a list older than the one held (an old list cannot hide a revocation)', async () => {
    etag = '"new"';
    body = await list([{ jti: 'revoked-later', exp: now() + 60 }]);
    const p = poller();
    await expect(p.isRevoked('revoked-later')).resolves.toBe(true);
    etag = '"old"';
    body = await list([], { iat: now() - 60 });
    await p.refresh();
    await expect(p.isRevoked('revoked-later')).resolves.toBe(true);
  });

  it('fails closed (temporarily_unavailable) when no list was ever fetched, or none for maxStaleness', async () => {
    body = undefined;
    await expect(poller().isRevoked('a')).rejects.toMatchObject({
      error: 'temporarily_unavailable',
      // The caller learns the list is stale; why (an HTTP status, a host) is for this server's log.
      description: 'actbridge revocation list is stale (never fetched)',
      detail: 'HTTP 503',
    });
    etag = '"s"';
    body = await list([]);
    const p = poller({ maxStaleness: 1 });
    await expect(p.isRevoked('a')).resolves.toBe(false);
    body = undefined;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await p.refresh();
    await expect(p.isRevoked('a')).rejects.toMatchObject({ error: 'temporarily_unavailable', status: 503 });
  });
});
