import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { discoverJwksUri, MAX_DISCOVERY_BYTES } from './oidc-discovery.js';

/** Discovery of a trust anchor's jwks_uri against a hand-written issuer, one path per behaviour. */
describe('discoverJwksUri', () => {
  let server: Server;
  let base: string;
  const document = (issuer: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks`, ...extra });
  const pad = (issuer: string) => document(issuer, { pad: 'x'.repeat(MAX_DISCOVERY_BYTES) });

  const routes: Record<string, (res: ServerResponse, issuer: string) => void> = {
    ok: (res, issuer) => res.writeHead(200, { 'content-type': 'application/json' }).end(document(issuer)),
    'at-the-cap': (res, issuer) => {
      const body = document(issuer, { pad: '' });
      const padded = document(issuer, { pad: 'x'.repeat(MAX_DISCOVERY_BYTES - Buffer.byteLength(body)) });
      res.writeHead(200, { 'content-type': 'application/json' }).end(padded);
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
});
