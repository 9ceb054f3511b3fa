import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SecretValue } from '../trust-anchors/secret-value.js';
import type { ConnectionConfig } from './connection.config.js';
import { compileConnectionPolicy } from './connection-policy.js';
import {
  MAX_EXPIRES_IN,
  MAX_PROVIDER_ANSWER_BYTES,
  UpstreamProvider,
  type UpstreamTokenResponse,
} from './upstream-provider.js';
import type { LoadedConnection } from './vault-config.js';

/**
 * How the provider's answers to a refresh are read, against a real HTTP token endpoint answering as
 * providers do: RFC 6749 errors, GitHub's errors in a 200, outages, a provider that never answers.
 */

type Answer = (req: IncomingMessage, res: ServerResponse, body: string) => void;
let answer: Answer;
let server: Server;
let base: string;
let received: { authorization?: string; body: string } | undefined;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received = { authorization: req.headers.authorization, body };
      answer(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function provider(timeoutMs = 1000, tokenEndpoint = `${base}/token`): UpstreamProvider {
  const connection: LoadedConnection = {
    name: 'github',
    file: 'github.yaml',
    config: {
      client_id: 'actbridge',
      scopes: ['repo', 'read:user', 'legacy,scope'],
      connect: { clients: [], redirect_uris: [], extra_scopes: [] },
      token_endpoint_auth_method: 'client_secret_basic',
      authorization_params: {},
      provider: {
        issuer: base,
        discovery: 'none',
        authorization_endpoint: `${base}/authorize`,
        token_endpoint: tokenEndpoint,
      },
    } as unknown as ConnectionConfig,
    clientSecret: new SecretValue('s3cret'),
    policy: compileConnectionPolicy([], []).policy,
  };
  return new UpstreamProvider(connection, timeoutMs);
}

const json =
  (status: number, body: unknown): Answer =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

describe('UpstreamProvider.refresh', () => {
  it('sends the refresh token with client_secret_basic and reads a rotated token response', async () => {
    answer = json(200, {
      access_token: 'at-2',
      token_type: 'bearer',
      expires_in: 3600,
      refresh_token: 'rt-2',
      scope: 'repo read:user',
    });
    const before = Math.floor(Date.now() / 1000);
    const response = await provider().refresh('rt-1');
    expect(response).toEqual({
      accessToken: 'at-2',
      tokenType: 'bearer',
      refreshToken: 'rt-2',
      expiresAt: expect.any(Number),
      scope: ['repo', 'read:user'],
    });
    expect((response as UpstreamTokenResponse).expiresAt! - before).toBeGreaterThanOrEqual(3600);
    expect(received!.authorization).toBe(`Basic ${Buffer.from('actbridge:s3cret').toString('base64')}`);
    expect(new URLSearchParams(received!.body).get('refresh_token')).toBe('rt-1');
    expect(new URLSearchParams(received!.body).get('grant_type')).toBe('refresh_token');
  });

  it("reads GitHub's comma-separated scope as its scopes; a configured scope holding a comma stays one", async () => {
    answer = json(200, { access_token: 'at-2', token_type: 'bearer', scope: 'repo,read:user' });
    expect(await provider().refresh('rt-1')).toMatchObject({ scope: ['repo', 'read:user'] });
    answer = json(200, { access_token: 'at-2', token_type: 'bearer', scope: 'repo,admin:org,' });
    expect(await provider().refresh('rt-1')).toMatchObject({ scope: ['repo', 'admin:org'] });
    answer = json(200, { access_token: 'at-2', token_type: 'bearer', scope: 'legacy,scope repo' });
    expect(await provider().refresh('rt-1')).toMatchObject({ scope: ['legacy,scope', 'repo'] });
  });

  it('does not believe an expires_in beyond MAX_EXPIRES_IN (1e300): the access token is unusable, the rotated refresh token still read', async () => {
    answer = json(200, { access_token: 'at-2', token_type: 'bearer', expires_in: 1e300, refresh_token: 'rt-2' });
    expect(await provider().refresh('rt-1')).toEqual({
      accessToken: 'at-2',
      tokenType: 'bearer',
      refreshToken: 'rt-2',
      unusable: {
        reason: 'its expires_in is out of range',
        detail: 'expires_in 1e+300 is out of range (at most 315360000 seconds)',
      },
    });
  });

  it('does not keep a token that is not a Bearer token (DPoP), whatever else the answer says; reads bearer in any case', async () => {
    answer = json(200, { access_token: 'at-2', token_type: 'DPoP', expires_in: 3600, refresh_token: 'rt-2' });
    expect(await provider().refresh('rt-1')).toEqual({
      accessToken: 'at-2',
      tokenType: 'dpop',
      refreshToken: 'rt-2',
      unusable: { reason: 'not a Bearer token', detail: 'token_type dpop' },
    });
    answer = json(200, { access_token: 'at-3', token_type: 'BEARER', expires_in: 3600 });
    expect(await provider().refresh('rt-1')).toMatchObject({ accessToken: 'at-3', expiresAt: expect.any(Number) });
  });

  it('reads a token_type openid-client refuses (MAC, N_A) or a negative expires_in as unusable, the rotated refresh token still read', async () => {
    answer = json(200, { access_token: 'at-2', token_type: 'MAC', expires_in: 3600, refresh_token: 'rt-2' });
    expect(await provider().refresh('rt-1')).toEqual({
      accessToken: 'at-2',
      tokenType: 'mac',
      refreshToken: 'rt-2',
      unusable: { reason: 'not a Bearer token', detail: 'token_type mac' },
    });
    answer = json(200, { access_token: 'at-2', token_type: 'N_A', refresh_token: 'rt-2', scope: 'repo' });
    expect(await provider().refresh('rt-1')).toMatchObject({
      refreshToken: 'rt-2',
      scope: ['repo'],
      unusable: { reason: 'not a Bearer token', detail: 'token_type n_a' },
    });
    answer = json(200, { access_token: 'at-2', token_type: 'bearer', expires_in: -1, refresh_token: 'rt-2' });
    expect(await provider().refresh('rt-1')).toEqual({
      accessToken: 'at-2',
      tokenType: 'bearer',
      refreshToken: 'rt-2',
      unusable: {
        reason: 'its expires_in is out of range',
        detail: 'expires_in -1 is out of range (at most 315360000 seconds)',
      },
    });
    answer = json(200, { access_token: 'at-2', token_type: 'bearer', expires_in: 'Infinity', refresh_token: 'rt-2' });
    expect(await provider().refresh('rt-1')).toMatchObject({
      refreshToken: 'rt-2',
      unusable: { reason: 'its expires_in is out of range' },
    });
    // A malformed answer is still an unexpected one, not a token.
    answer = json(200, { access_token: 'at-2', token_type: 'MAC', refresh_token: 5 });
    await expect(provider().refresh('rt-1')).rejects.toMatchObject({ kind: 'unavailable' });
  });

  it('reads such an answer to an authorization code as unusable too, not as a refusal of the code', async () => {
    answer = json(200, { access_token: 'at-1', token_type: 'MAC', expires_in: 3600, refresh_token: 'rt-1' });
    const callback = new URL(`${base}/callback?code=c-1&state=s-1`);
    expect(await provider().redeemCode(callback, { state: 's-1', codeVerifier: 'v'.repeat(43) })).toMatchObject({
      refreshToken: 'rt-1',
      unusable: { reason: 'not a Bearer token', detail: 'token_type mac' },
    });
    expect(new URLSearchParams(received!.body).get('code')).toBe('c-1');
  });

  it('believes an expires_in of MAX_EXPIRES_IN (10 years), and none at all (no known expiry)', async () => {
    answer = json(200, { access_token: 'at-2', token_type: 'bearer', expires_in: MAX_EXPIRES_IN });
    const before = Math.floor(Date.now() / 1000);
    const response = (await provider().refresh('rt-1')) as UpstreamTokenResponse;
    expect(response.unusable).toBeUndefined();
    expect(response.expiresAt! - before - MAX_EXPIRES_IN).toBeGreaterThanOrEqual(0);
    expect(response.expiresAt! - before - MAX_EXPIRES_IN).toBeLessThanOrEqual(1);
    answer = json(200, { access_token: 'at-3', token_type: 'bearer' });
    expect(await provider().refresh('rt-1')).toEqual({ accessToken: 'at-3', tokenType: 'bearer', expiresAt: null });
  });

  it.each<[string, Answer, 'rejected' | 'unavailable', RegExp]>([
    [
      'RFC 6749 invalid_grant',
      json(400, { error: 'invalid_grant', error_description: 'grant request is invalid' }),
      'rejected',
      /^refresh: the provider answered 400 invalid_grant: grant request is invalid$/,
    ],
    [
      "GitHub's bad_refresh_token in a 200",
      json(200, { error: 'bad_refresh_token', error_description: 'The refresh token passed is incorrect or expired.' }),
      'rejected',
      /^refresh: the provider answered 200 bad_refresh_token: The refresh token passed/,
    ],
    [
      'a refused client (our configuration, not the grant)',
      json(401, { error: 'invalid_client' }),
      'unavailable',
      /^refresh: the provider answered 401 invalid_client$/,
    ],
    [
      'a 503 page',
      (_q, res) => res.writeHead(503, { 'content-type': 'text/html' }).end('<h1>down</h1>'),
      'unavailable',
      /503/,
    ],
    ['a 500 server_error', json(500, { error: 'server_error' }), 'unavailable', /HTTP 500/],
  ])('classifies %s', async (_name, reply, kind, detail) => {
    answer = reply;
    await expect(provider().refresh('rt-1')).rejects.toMatchObject({
      name: 'UpstreamError',
      kind,
      detail: expect.stringMatching(detail),
    });
  });

  it('reads at most MAX_PROVIDER_ANSWER_BYTES of an answer: a larger one, declared or chunked, is unavailable', async () => {
    const padding = 'x'.repeat(MAX_PROVIDER_ANSWER_BYTES);
    answer = json(200, { access_token: 'at-2', token_type: 'bearer', padding });
    await expect(provider().refresh('rt-1')).rejects.toMatchObject({
      kind: 'unavailable',
      detail: `refresh: provider answer larger than ${MAX_PROVIDER_ANSWER_BYTES} bytes`,
    });
    // Chunked, no Content-Length: cut while streaming, not after buffering all of it.
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"access_token":"at-2","token_type":"bearer","padding":"');
      const chunk = 'x'.repeat(64 * 1024);
      const more = () => {
        if (!res.destroyed && res.write(chunk)) setImmediate(more);
        else if (!res.destroyed) res.once('drain', more);
      };
      more();
    };
    await expect(provider().refresh('rt-1')).rejects.toMatchObject({
      kind: 'unavailable',
      detail: `refresh: provider answer larger than ${MAX_PROVIDER_ANSWER_BYTES} bytes`,
    });
    // A normal answer just under the cap is read.
    answer = json(200, { access_token: 'at-3', token_type: 'bearer', padding: padding.slice(0, 200_000) });
    expect(await provider().refresh('rt-1')).toMatchObject({ accessToken: 'at-3' });
  });

  it('classifies an unreachable provider and one that never answers as unavailable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(provider(1000, `http://127.0.0.1:${port}/token`).refresh('rt-1')).rejects.toMatchObject({
      kind: 'unavailable',
      detail: expect.stringMatching(/^refresh: .*ECONNREFUSED/),
    });
    answer = () => undefined;
    const started = Date.now();
    await expect(provider(1000).refresh('rt-1')).rejects.toMatchObject({ kind: 'unavailable' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('never puts the refresh token in an error', async () => {
    answer = json(400, { error: 'invalid_grant', error_description: 'refresh token rt-secret-value is revoked' });
    const error = await provider()
      .refresh('rt-secret-value')
      .catch((e: unknown) => e as Error);
    // The provider's words are quoted for the operator, the token it echoed is not.
    expect((error as Error).message).toBe(
      'refresh: the provider answered 400 invalid_grant: refresh token [redacted] is revoked',
    );
    answer = json(200, { error: 'bad_refresh_token' });
    const other = await provider()
      .refresh('rt-secret-value')
      .catch((e: unknown) => e as Error);
    expect((other as Error).message).not.toContain('rt-secret-value');
  });

  it("never puts actbridge's client secret at the provider in an error, should the provider echo it", async () => {
    answer = json(401, { error: 'invalid_client', error_description: 'client secret s3cret does not match' });
    const error = await provider()
      .refresh('rt-1')
      .catch((e: unknown) => e as Error);
    expect((error as Error).message).toBe(
      'refresh: the provider answered 401 invalid_client: client secret [redacted] does not match',
    );
  });

  it('never puts part of the refresh token in an error, where the quoted words are cut', async () => {
    const token = `rt-${'a1b2c3d4'.repeat(6)}`;
    // The token straddles the 200th character of the description: cut before scrubbing, its first half stayed.
    answer = json(400, { error: 'invalid_grant', error_description: `${'x'.repeat(170)} ${token} is revoked` });
    const error = await provider()
      .refresh(token)
      .catch((e: unknown) => e as Error);
    expect((error as Error).message).toBe(
      `refresh: the provider answered 400 invalid_grant: ${'x'.repeat(170)} [redacted] is revoked`,
    );
  });
});
