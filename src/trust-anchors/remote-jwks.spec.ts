import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import { errors, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK, type CryptoKey } from 'jose';
import { waitFor } from '../../test/support/wait-for.js';
import { KeysUnavailableError, RemoteJwks, type RemoteJwksPolicy } from './remote-jwks.js';

/** What the fake JWKS endpoint does with the next request. */
type Mode =
  | 'ok'
  | '503'
  | 'hang' // accepts the request, never answers
  | 'slow' // answers the JWKS after `slowMs`
  | 'stall-body' // sends headers and part of the body, then nothing
  | 'redirect' // 3xx to /target, which would serve a valid JWKS
  | 'invalid-json'
  | 'not-jwks'
  | 'oversized' // valid JWKS padded past 512 KiB, with Content-Length
  | 'oversized-chunked' // same, chunked (no Content-Length)
  | 'endless'; // chunked body that never ends

interface TestKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

const MAX_JWKS_BYTES = 512 * 1024;
const T0 = 1_800_000_000_000; // injected clock start, ms

describe('RemoteJwks', () => {
  let server: Server;
  let baseUrl: URL;
  let k1: TestKey, k2: TestKey, k3: TestKey;
  const pendingTimers = new Set<NodeJS.Timeout>();

  // Endpoint state, reset before each test.
  let mode: Mode;
  let served: TestKey[];
  let slowMs: number;
  let redirectStatus: number;
  let notJwksBody: string;
  let requests: number;
  let targetRequests: number;
  let lastAccept: string | undefined;

  const jwksBody = (extra: Record<string, unknown> = {}) =>
    JSON.stringify({ keys: served.map((k) => k.publicJwk), ...extra });

  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      pendingTimers.delete(timer);
      fn();
    }, ms);
    pendingTimers.add(timer);
  };

  function handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.url === '/target') {
      targetRequests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(jwksBody());
      return;
    }
    requests++;
    lastAccept = req.headers.accept;
    res.shouldKeepAlive = false; // one connection per request: no pooled socket outlives a test
    switch (mode) {
      case 'ok':
        res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(jwksBody());
        return;
      case '503':
        res.writeHead(503, { 'content-type': 'text/plain' }).end('down for maintenance');
        return;
      case 'hang':
        return;
      case 'slow': {
        const body = jwksBody(); // the set as it is when the request arrives
        later(slowMs, () => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
        return;
      }
      case 'stall-body': {
        const body = jwksBody();
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
        res.write(body.slice(0, 10));
        return;
      }
      case 'redirect':
        res.writeHead(redirectStatus, { location: new URL('/target', baseUrl).href }).end();
        return;
      case 'invalid-json':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys": [ {"kty": "EC", ');
        return;
      case 'not-jwks':
        res.writeHead(200, { 'content-type': 'application/json' }).end(notJwksBody);
        return;
      case 'oversized':
        res.writeHead(200, { 'content-type': 'application/json' }).end(jwksBody({ pad: 'x'.repeat(MAX_JWKS_BYTES) }));
        return;
      case 'oversized-chunked': {
        const body = jwksBody({ pad: 'x'.repeat(MAX_JWKS_BYTES) });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(body.slice(0, 1000));
        res.end(body.slice(1000));
        return;
      }
      case 'endless': {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"keys": [], "pad": "');
        const chunk = 'x'.repeat(64 * 1024);
        const pump = () => {
          if (res.destroyed || res.writableEnded) return;
          res.write(chunk);
          later(5, pump);
        };
        pump();
        return;
      }
    }
  }

  async function makeKey(kid: string): Promise<TestKey> {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
  }

  const sign = (key: TestKey) =>
    new SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid })
      .setIssuer('https://idp.example.test')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(key.privateKey);

  const policy = (overrides: Partial<RemoteJwksPolicy> = {}): RemoteJwksPolicy => ({
    timeoutMs: 1000,
    cooldownSec: 30,
    maxAgeSec: 600,
    maxStaleSec: 3600,
    ...overrides,
  });

  /** A RemoteJwks against the fake endpoint, on a clock the test moves by hand (`clock.t`, ms). */
  function remoteJwks(overrides: Partial<RemoteJwksPolicy> = {}, locate?: () => Promise<URL>) {
    const clock = { t: T0 };
    const remote = new RemoteJwks(
      locate ?? (async () => new URL('/jwks', baseUrl)),
      policy(overrides),
      'test-anchor',
      () => clock.t,
    );
    const verify = async (key: TestKey) => (await jwtVerify(await sign(key), remote.getKey)).payload;
    return { remote, clock, verify };
  }

  /** A cache that has fetched the endpoint's keys once (k1 verified); the endpoint then turned to `then`, if given. */
  async function fetchedOnce(overrides: Partial<RemoteJwksPolicy>, then?: Mode) {
    const jwks = remoteJwks(overrides);
    await jwks.verify(k1);
    if (then) mode = then;
    return jwks;
  }

  /** Time taken by `promise` to settle, ms, and its rejection (if any). */
  async function timed(promise: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
    const start = performance.now();
    try {
      await promise;
      return { ms: performance.now() - start, error: undefined };
    } catch (error) {
      return { ms: performance.now() - start, error };
    }
  }

  /** What `promise` rejects with (undefined if it resolves), checking it settles at once: nothing waited for. */
  async function settledAtOnce(promise: Promise<unknown>): Promise<unknown> {
    const { ms, error } = await timed(promise);
    // Under the shortest endpoint timeout of these tests (300 ms): a wait for the endpoint would reach it,
    // a pause of the test process (a collection on a loaded machine) should not.
    expect(ms).toBeLessThan(250);
    return error;
  }

  /** Checks `promise` fails with a KeysUnavailableError; its message, and how long it took, ms. */
  async function unavailable(promise: Promise<unknown>): Promise<{ message: string; ms: number }> {
    const { ms, error } = await timed(promise);
    expect(error).toBeInstanceOf(KeysUnavailableError);
    return { message: (error as Error).message, ms };
  }

  /** Checks `promise` fails with a KeysUnavailableError "timed out" well before 2 s; returns how long it took, ms. */
  async function timedOut(promise: Promise<unknown>): Promise<number> {
    const { message, ms } = await unavailable(promise);
    expect(message).toMatch(/timed out/);
    expect(ms).toBeLessThan(2000);
    return ms;
  }

  const settle = (ms = 50) => new Promise((resolve) => setTimeout(resolve, ms));

  beforeAll(async () => {
    Logger.overrideLogger(false); // fetch failures are logged as warnings by design
    [k1, k2, k3] = await Promise.all([makeKey('k1'), makeKey('k2'), makeKey('k3')]);
    server = createServer(handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  });

  beforeEach(() => {
    mode = 'ok';
    served = [k1];
    slowMs = 0;
    redirectStatus = 302;
    notJwksBody = '{}';
    requests = 0;
    targetRequests = 0;
    lastAccept = undefined;
  });

  afterEach(async () => {
    for (const timer of pendingTimers) clearTimeout(timer);
    pendingTimers.clear();
    server.closeAllConnections();
    // Let the client see those sockets close, so the next test's fetch does not pick a dead pooled one.
    await settle(20);
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  });

  describe('caching', () => {
    it('fetches on first use, then serves later verifications from the cache', async () => {
      const { verify } = remoteJwks();
      expect(requests).toBe(0); // nothing happens at construction
      await expect(verify(k1)).resolves.toMatchObject({ sub: 'alice' });
      expect(requests).toBe(1);
      expect(lastAccept).toContain('application/jwk-set+json');
      await verify(k1);
      await verify(k1);
      expect(requests).toBe(1);
    });

    it('keeps serving from the cache up to maxAge without refreshing', async () => {
      const { verify, clock } = await fetchedOnce({ maxAgeSec: 600 });
      clock.t += 600_000;
      await verify(k1);
      await settle();
      expect(requests).toBe(1);
    });

    it('shares one fetch between concurrent first uses', async () => {
      mode = 'slow';
      slowMs = 200;
      const { verify } = remoteJwks();
      const results = await Promise.all(Array.from({ length: 10 }, () => verify(k1)));
      expect(results).toHaveLength(10);
      expect(requests).toBe(1);
    });

    it('warmUp() fetches eagerly, so the first verification needs no request', async () => {
      const { remote, verify } = remoteJwks();
      await remote.warmUp();
      expect(requests).toBe(1);
      await verify(k1);
      expect(requests).toBe(1);
    });

    it('warmUp() never throws: endpoint down, or locate() failing', async () => {
      mode = '503';
      await expect(remoteJwks().remote.warmUp()).resolves.toBeUndefined();
      expect(requests).toBe(1);
      const failing = remoteJwks({}, async () => {
        throw new Error('discovery failed');
      });
      await expect(failing.remote.warmUp()).resolves.toBeUndefined();
    });
  });

  describe('key rotation (unknown kid)', () => {
    it('refetches once for an unknown kid and then succeeds with the rotated-in key', async () => {
      const { verify, clock } = await fetchedOnce({ cooldownSec: 30 });
      served = [k1, k2];
      clock.t += 31_000;
      await expect(verify(k2)).resolves.toMatchObject({ sub: 'alice' });
      expect(requests).toBe(2);
      await verify(k2);
      await verify(k1);
      expect(requests).toBe(2);
    });

    it('within the cooldown, an unknown kid fails fast with JWKSNoMatchingKey and no request', async () => {
      const { verify, clock } = await fetchedOnce({ cooldownSec: 30 });
      served = [k1, k2];
      clock.t += 5_000;
      expect(await settledAtOnce(verify(k2))).toBeInstanceOf(errors.JWKSNoMatchingKey);
      expect(requests).toBe(1);
      // Once the cooldown has passed, the same kid triggers the refetch and works.
      clock.t += 26_000;
      await expect(verify(k2)).resolves.toMatchObject({ sub: 'alice' });
      expect(requests).toBe(2);
    });

    it('a kid the issuer does not have: one refetch, then JWKSNoMatchingKey, then no more requests in the cooldown', async () => {
      const { verify, clock } = await fetchedOnce({ cooldownSec: 30 });
      clock.t += 31_000;
      await expect(verify(k3)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
      expect(requests).toBe(2);
      await expect(verify(k3)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
      clock.t += 10_000;
      await expect(verify(k3)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
      expect(requests).toBe(2);
      await verify(k1);
    });

    it('concurrent tokens with a rotated-in kid share the one refetch and all succeed', async () => {
      const { verify, clock } = await fetchedOnce({ cooldownSec: 30 });
      served = [k1, k2];
      mode = 'slow';
      slowMs = 150;
      clock.t += 31_000;
      const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => verify(k2)));
      expect(requests).toBe(2);
      // Each entry: 'ok', or the error's name (so a failure shows what the late joiners got).
      expect(outcomes.map((o) => (o.status === 'fulfilled' ? 'ok' : (o.reason as Error).name))).toEqual(
        Array(5).fill('ok'),
      );
    });

    it('an unusable rotation response (invalid JSON) leaves the cached keys in place', async () => {
      const { verify, clock } = await fetchedOnce({ cooldownSec: 30 }, 'invalid-json');
      clock.t += 31_000;
      expect((await unavailable(verify(k2))).message).toContain('not JSON');
      await expect(verify(k1)).resolves.toMatchObject({ sub: 'alice' });
      expect(requests).toBe(2);
    });
  });

  describe('background refresh after maxAge', () => {
    it('refreshes in the background; verification does not wait for it', async () => {
      const { verify, clock } = await fetchedOnce({ maxAgeSec: 60, cooldownSec: 30 });
      served = [k1, k2];
      mode = 'slow';
      slowMs = 500;
      clock.t += 61_000;
      const { ms, error } = await timed(verify(k1));
      expect(error).toBeUndefined();
      expect(ms).toBeLessThan(450); // before the endpoint answers (slowMs)
      await waitFor(() => requests === 2, 'request 2 at the endpoint');
      // The background refresh brings in k2: no foreground fetch is needed for it (and we are in the
      // cooldown of the background attempt, so an unknown kid could not have refetched anyway).
      await settle(slowMs + 100);
      await expect(verify(k2)).resolves.toMatchObject({ sub: 'alice' });
      expect(requests).toBe(2);
    });

    it('one background refresh at a time, at most once per cooldown', async () => {
      const { verify, clock } = await fetchedOnce({ maxAgeSec: 60, cooldownSec: 30 }, '503');
      clock.t += 61_000;
      await Promise.all([verify(k1), verify(k1), verify(k1)]);
      await waitFor(() => requests === 2, 'request 2 at the endpoint');
      await settle();
      clock.t += 10_000;
      await verify(k1);
      await settle();
      expect(requests).toBe(2);
      clock.t += 21_000;
      await verify(k1);
      await waitFor(() => requests === 3, 'request 3 at the endpoint');
    });
  });

  describe('endpoint failures', () => {
    it('endpoint down after a good fetch: cached keys work until maxAge + maxStale, then KeysUnavailableError', async () => {
      const { verify, clock } = await fetchedOnce({ maxAgeSec: 60, maxStaleSec: 120, cooldownSec: 10 }, '503');

      clock.t = T0 + 61_000; // stale: background refresh fails, cached keys still used
      await expect(verify(k1)).resolves.toMatchObject({ sub: 'alice' });
      await waitFor(() => requests === 2, 'request 2 at the endpoint');
      await settle();

      clock.t = T0 + 179_000; // still within maxAge + maxStale
      await expect(verify(k1)).resolves.toMatchObject({ sub: 'alice' });
      await waitFor(() => requests === 3, 'request 3 at the endpoint');
      await settle();

      clock.t = T0 + 181_000; // beyond maxAge + maxStale, last attempt 2 s ago (cooldown): fails fast
      const fast = await settledAtOnce(verify(k1));
      expect(fast).toBeInstanceOf(KeysUnavailableError);
      expect((fast as Error).message).toContain('HTTP 503');
      expect(requests).toBe(3);

      clock.t = T0 + 200_000; // past the cooldown: tries again, still down
      const again = await timed(verify(k1));
      expect(again.error).toBeInstanceOf(KeysUnavailableError);
      expect(requests).toBe(4);

      mode = 'ok'; // endpoint back: recovers after the cooldown
      clock.t = T0 + 211_000;
      await expect(verify(k1)).resolves.toMatchObject({ sub: 'alice' });
      expect(requests).toBe(5);
    });

    it('endpoint hanging: an unknown kid fails after ≈timeoutMs with "timed out"; a second one fails at once', async () => {
      const { verify, clock } = await fetchedOnce({ timeoutMs: 300, cooldownSec: 30 }, 'hang');
      clock.t += 31_000;

      expect(await timedOut(verify(k2))).toBeGreaterThanOrEqual(250);
      expect(requests).toBe(2);

      expect(await settledAtOnce(verify(k2))).toBeInstanceOf(KeysUnavailableError);
      expect(requests).toBe(2);

      // Known keys keep working meanwhile, without waiting.
      expect(await settledAtOnce(verify(k1))).toBeUndefined();
      expect(requests).toBe(2);
    });

    it.each<[string, Mode]>([
      ['endpoint sends headers then stalls the body: fails after ≈timeoutMs with "timed out"', 'stall-body'],
      ['never fetched and endpoint hanging: KeysUnavailableError after ≈timeoutMs', 'hang'],
    ])('%s', async (_name, endpoint) => {
      mode = endpoint;
      await timedOut(remoteJwks({ timeoutMs: 300 }).verify(k1));
    });

    it('never fetched and endpoint down: KeysUnavailableError, then fail-fast within the cooldown', async () => {
      mode = '503';
      const { verify, clock } = remoteJwks({ cooldownSec: 30 });
      expect((await unavailable(verify(k1))).message).toContain('HTTP 503');
      expect(requests).toBe(1);

      mode = 'ok';
      clock.t += 5_000;
      expect(await settledAtOnce(verify(k1))).toBeInstanceOf(KeysUnavailableError);
      expect(requests).toBe(1);

      clock.t += 26_000;
      await expect(verify(k1)).resolves.toMatchObject({ sub: 'alice' });
      expect(requests).toBe(2);
    });

    it('endpoint unreachable (nothing listening): KeysUnavailableError', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const { verify } = remoteJwks({}, async () => new URL(`http://127.0.0.1:${port}/jwks`));
      expect((await unavailable(verify(k1))).message).toContain('unreachable');
    });

    it('locate() throwing (discovery failed): KeysUnavailableError naming the cause', async () => {
      const { verify } = remoteJwks({}, async () => {
        throw new Error('discovery failed: HTTP 500 from https://idp.example.test/.well-known/openid-configuration');
      });
      expect((await unavailable(verify(k1))).message).toContain('discovery failed');
      expect(requests).toBe(0);
    });
  });

  describe('response checks', () => {
    it.each([301, 302, 303, 307, 308])('refuses to follow a %i redirect', async (status) => {
      mode = 'redirect';
      redirectStatus = status;
      const { verify } = remoteJwks();
      expect((await unavailable(verify(k1))).message).toContain(`HTTP ${status}`);
      expect(requests).toBe(1);
      expect(targetRequests).toBe(0);
    });

    it('rejects a body that is not JSON', async () => {
      mode = 'invalid-json';
      expect((await unavailable(remoteJwks().verify(k1))).message).toContain('not JSON');
    });

    it.each([
      ['an empty object', '{}'],
      ['a bare array of keys', '[{"kty": "EC", "crv": "P-256", "x": "a", "y": "b"}]'],
      ['keys that are not objects', '{"keys": [1, 2]}'],
      ['keys without kty', '{"keys": [{"kid": "k1"}]}'],
      ['a JSON string', '"keys"'],
      ['null', 'null'],
    ])('rejects JSON that is not a JWK Set: %s', async (_name, body) => {
      mode = 'not-jwks';
      notJwksBody = body;
      expect((await unavailable(remoteJwks().verify(k1))).message).toContain('not a JWK Set');
    });

    it('believes an empty key list: the issuer has no keys, so its tokens find no key (not "keys unavailable")', async () => {
      mode = 'not-jwks';
      notJwksBody = '{"keys": []}';
      await expect(remoteJwks().verify(k1)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    });

    it('an issuer that withdraws every key (an empty set) is believed at the next refresh: the cached keys stop verifying', async () => {
      const { verify, clock } = await fetchedOnce({ maxAgeSec: 60, cooldownSec: 30 });
      mode = 'not-jwks';
      notJwksBody = '{"keys": []}';
      clock.t += 61_000;
      await verify(k1); // served from the cache while the background refresh runs
      await waitFor(() => requests === 2, 'request 2 at the endpoint');
      await settle(50);
      await expect(verify(k1)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    });

    it('rejects an oversized body (> 512 KiB) announced by Content-Length', async () => {
      mode = 'oversized';
      expect((await unavailable(remoteJwks().verify(k1))).message).toContain('larger than');
    });

    it('rejects an oversized chunked body (no Content-Length)', async () => {
      mode = 'oversized-chunked';
      expect((await unavailable(remoteJwks().verify(k1))).message).toContain('larger than');
    });

    it('cuts off an endless chunked body at the size cap instead of buffering until the timeout', async () => {
      mode = 'endless';
      const { verify } = remoteJwks({ timeoutMs: 1500 });
      const { message, ms } = await unavailable(verify(k1));
      expect(message).toContain('larger than');
      expect(ms).toBeLessThan(1500);
    });
  });
});
