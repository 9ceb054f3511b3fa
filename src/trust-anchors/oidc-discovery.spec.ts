import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { discoverJwksUri, MAX_DISCOVERY_BYTES, pacedDiscovery } from './oidc-discovery.js';

/** Discovery of a trust anchor's jwks_uri against a hand-written issuer, one path per behaviour. */
describe('discoverJwksUri', () => {
  let server: Server;
  let base: string;
  const document = (issuer: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks`, ...extra });
  const pad = (issuer: string) => document(issuer, { pad: 'x'.repeat(MAX_DISCOVERY_BYTES) });

  const flaky = { requests: 0, up: false };
  const routes: Record<string, (res: ServerResponse, issuer: string) => void> = {
    ok: (res, issuer) => res.writeHead(200, { 'content-type': 'application/json' }).end(document(issuer)),
    'at-the-cap': (res, issuer) => {
      const body = document(issuer, { pad: '' });
      const padded = document(issuer, { pad: 'x'.repeat(MAX_DISCOVERY_BYTES - Buffer.byteLength(body)) });
      res.writeHead(200, { 'content-type': 'application/json' }).end(padded);
    },
    // Fails until `flaky.up`, counting its requests.
    flaky: (res, issuer) => {
      flaky.requests++;
      if (!flaky.up) return res.writeHead(500).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(document(issuer));
    },
    // Headers sent, body never finished; and no answer at all.
    stalled: (res) => void res.writeHead(200, { 'content-type': 'application/json' }).write('{"issuer":'),
    silent: () => undefined,
    oversized: (res, issuer) => res.writeHead(200, { 'content-type': 'application/json' }).end(pad(issuer)),
    'oversized-chunked': (res, issuer) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const body = pad(issuer);
      res.write(body.slice(0, 1000));
      res.end(body.slice(1000));
    },
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      res.shouldKeepAlive = false;
      const name = /^\/([^/]+)\/\.well-known\/openid-configuration$/.exec(req.url ?? '')?.[1];
      const route = name === undefined ? undefined : routes[name];
      if (!route) return res.writeHead(404).end();
      route(res, `${base}/${name}`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('finds jwks_uri in a document of up to MAX_DISCOVERY_BYTES', async () => {
    expect((await discoverJwksUri(`${base}/ok`, 'oidc', 2000)).href).toBe(`${base}/ok/jwks`);
    expect((await discoverJwksUri(`${base}/at-the-cap`, 'oidc', 2000)).href).toBe(`${base}/at-the-cap/jwks`);
  });

  it.each(['oversized', 'oversized-chunked'])('refuses a larger document (%s), naming the cap', async (name) => {
    await expect(discoverJwksUri(`${base}/${name}`, 'oidc', 2000)).rejects.toThrow(
      `discovery at ${base}/${name}/.well-known/openid-configuration failed: discovery document larger than ${MAX_DISCOVERY_BYTES} bytes`,
    );
  });

  // openid-client's own timeout is whole seconds (ceil(200 ms) = 1 s); the request is bounded by timeoutMs.
  it.each(['silent', 'stalled'])('gives up on a %s issuer after timeoutMs, not a whole second', async (name) => {
    const started = Date.now();
    await expect(discoverJwksUri(`${base}/${name}`, 'oidc', 200)).rejects.toThrow(
      `discovery at ${base}/${name}/.well-known/openid-configuration failed: `,
    );
    expect(Date.now() - started).toBeLessThan(950);
  });

  it('pacedDiscovery: after a failure, no new request within the cooldown; the first success is kept', async () => {
    let now = 1_000_000;
    const discover = pacedDiscovery(`${base}/flaky`, 'oidc', 2000, 30_000, () => now);
    const failure = `discovery at ${base}/flaky/.well-known/openid-configuration failed: `;
    await expect(discover()).rejects.toThrow(failure);
    // A stream of callers (opaque tokens to introspect) within the cooldown: the last error, no request.
    for (let i = 0; i < 5; i++) await expect(discover()).rejects.toThrow(failure);
    expect(flaky.requests).toBe(1);
    flaky.up = true;
    now += 29_999;
    await expect(discover()).rejects.toThrow(failure);
    expect(flaky.requests).toBe(1);
    now += 1;
    await expect(discover()).resolves.toMatchObject({ jwks_uri: `${base}/flaky/jwks` });
    flaky.up = false;
    now += 60_000;
    await expect(discover()).resolves.toMatchObject({ jwks_uri: `${base}/flaky/jwks` });
    expect(flaky.requests).toBe(2);
  });
});
