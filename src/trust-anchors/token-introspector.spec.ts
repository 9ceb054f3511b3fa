import { inspect } from 'node:util';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { SecretValue } from './secret-value.js';
import {
  IntrospectionFailedError,
  IntrospectionSheddingError,
  IntrospectionUnavailableError,
  MAX_CONCURRENT_INTROSPECTIONS,
  MAX_INTROSPECTION_RESPONSE_BYTES,
  TokenIntrospector,
  type TokenIntrospectorSettings,
} from './token-introspector.js';

/**
 * The RFC 7662 client against a real HTTP server on loopback that misbehaves on demand: every way an
 * introspection endpoint can fail maps to "unavailable" (503 for the caller) or "failed" (400).
 */

const SECRET = 'introspection-secret:with/odd chars';
type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

let server: Server;
let base: string;
let handler: Handler;
let requests: Array<{ path: string; headers: IncomingMessage['headers']; body: string }>;
const hung = new Set<ServerResponse>();

const json = (res: ServerResponse, status: number, body: unknown, type = 'application/json') => {
  res.writeHead(status, { 'content-type': type });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};
const ACTIVE = { active: true, sub: 'alice', exp: Math.floor(Date.now() / 1000) + 600, token_type: 'Bearer' };

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', headers: req.headers, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of hung) res.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  requests = [];
  handler = (_req, _body, res) => json(res, 200, ACTIVE);
});

function introspector(over: Partial<TokenIntrospectorSettings> = {}) {
  return new TokenIntrospector({
    name: 'test',
    issuer: base,
    locate: async () => new URL(`${base}/introspect`),
    clientId: 'actbridge',
    secret: new SecretValue(SECRET),
    authMethod: 'client_secret_basic',
    cacheTtlSec: 30,
    requireTokenType: true,
    // The endpoint runs in this process, which a loaded machine can stall for longer than the short
    // timeout the hang case waits for (given there).
    timeoutMs: 5000,
    ...over,
  });
}

describe('TokenIntrospector', () => {
  it('POSTs token + hint with client_secret_basic (RFC 6749 §2.3.1 encoding) and returns the answer', async () => {
    expect(await introspector().introspect('tok-1')).toEqual(ACTIVE);
    const [request] = requests;
    const form = new URLSearchParams(request!.body);
    expect(form.get('token')).toBe('tok-1');
    expect(form.get('token_type_hint')).toBe('access_token');
    expect(form.has('client_secret')).toBe(false);
    const [id, secret] = Buffer.from(request!.headers.authorization!.replace(/^Basic /, ''), 'base64')
      .toString()
      .split(':')
      .map(decodeURIComponent);
    expect([id, secret?.replace(/\+/g, ' ')]).toEqual(['actbridge', SECRET]);
    expect(request!.headers.accept).toBe('application/json');
  });

  it('supports client_secret_post', async () => {
    await introspector({ authMethod: 'client_secret_post' }).introspect('tok-1');
    const form = new URLSearchParams(requests[0]!.body);
    expect([form.get('client_id'), form.get('client_secret')]).toEqual(['actbridge', SECRET]);
    expect(requests[0]!.headers.authorization).toBeUndefined();
  });

  it('caches active answers and shares one call between concurrent requests', async () => {
    const i = introspector();
    await Promise.all([i.introspect('tok-1'), i.introspect('tok-1'), i.introspect('tok-1')]);
    await i.introspect('tok-1');
    expect(requests).toHaveLength(1);
    await i.introspect('tok-2');
    expect(requests).toHaveLength(2);
  });

  it('does not cache inactive answers', async () => {
    handler = (_req, _body, res) => json(res, 200, { active: false });
    const i = introspector();
    expect(await i.introspect('dead')).toEqual({ active: false });
    await i.introspect('dead');
    expect(requests).toHaveLength(2);
  });

  it.each<[string, Handler, typeof IntrospectionFailedError | typeof IntrospectionUnavailableError, string | RegExp]>([
    [
      '503',
      (_q, _b, res) => json(res, 503, {}),
      IntrospectionUnavailableError,
      'HTTP 503 from the introspection endpoint',
    ],
    [
      '500',
      (_q, _b, res) => json(res, 500, {}),
      IntrospectionUnavailableError,
      'HTTP 500 from the introspection endpoint',
    ],
    [
      '429',
      (_q, _b, res) => json(res, 429, {}),
      IntrospectionUnavailableError,
      'HTTP 429 from the introspection endpoint',
    ],
    [
      'a redirect (not followed)',
      (_q, _b, res) => res.writeHead(307, { location: `${base}/elsewhere` }).end(),
      IntrospectionFailedError,
      'HTTP 307 from the introspection endpoint (redirects are not followed)',
    ],
    [
      '401 (credentials rejected)',
      (_q, _b, res) => json(res, 401, { error: 'invalid_client' }),
      IntrospectionFailedError,
      'HTTP 401 from the introspection endpoint (are the introspection credentials right?)',
    ],
    [
      '400',
      (_q, _b, res) => json(res, 400, { error: 'invalid_request' }),
      IntrospectionFailedError,
      'HTTP 400 from the introspection endpoint',
    ],
    [
      'HTML',
      (_q, _b, res) => json(res, 200, '<html></html>', 'text/html'),
      IntrospectionFailedError,
      'introspection response is text/html, not application/json',
    ],
    [
      'a signed JWT response (RFC 9701), not asked for',
      (_q, _b, res) => json(res, 200, 'a.b.c', 'application/token-introspection+jwt'),
      IntrospectionFailedError,
      'introspection response is application/token-introspection+jwt, not application/json',
    ],
    [
      'an oversized chunked body',
      (_q, _b, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ active: true, pad: 'x'.repeat(MAX_INTROSPECTION_RESPONSE_BYTES) }));
      },
      IntrospectionFailedError,
      `introspection response larger than ${MAX_INTROSPECTION_RESPONSE_BYTES} bytes`,
    ],
    [
      'not JSON',
      (_q, _b, res) => json(res, 200, '{not json'),
      IntrospectionFailedError,
      /^invalid introspection response/,
    ],
    [
      'active not a boolean',
      (_q, _b, res) => json(res, 200, { active: 'true' }),
      IntrospectionFailedError,
      /^invalid introspection response/,
    ],
    [
      'a JSON array',
      (_q, _b, res) => json(res, 200, [ACTIVE]),
      IntrospectionFailedError,
      /^invalid introspection response/,
    ],
  ])('maps %s', async (_name, h, ErrorClass, message) => {
    handler = h;
    const failure = await introspector()
      .introspect('tok-1')
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ErrorClass);
    if (typeof message === 'string') expect((failure as Error).message).toBe(message);
    else expect((failure as Error).message).toMatch(message);
    expect((failure as Error).message).not.toContain(SECRET);
    expect((failure as Error).message).not.toContain('tok-1');
    expect(requests.filter((r) => r.path === '/elsewhere')).toHaveLength(0);
  });

  it('maps a hang to unavailable after the timeout', async () => {
    handler = (_q, _b, res) => {
      hung.add(res);
    };
    const failure = await introspector({ timeoutMs: 300 })
      .introspect('tok-1')
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(IntrospectionUnavailableError);
    expect((failure as Error).message).toBe('timed out after 300 ms');
    expect((failure as Error).message).not.toContain(SECRET);
    expect((failure as Error).message).not.toContain('tok-1');
  });

  it('leaves an endpoint that timed out 3 times in a row alone for a pause, then tries it with one call', async () => {
    handler = (_q, _b, res) => {
      hung.add(res);
    };
    const client = introspector({ timeoutMs: 200, pauseMs: 600 });
    const failures = await Promise.all(['a', 'b', 'c'].map((t) => client.introspect(t).catch((e: unknown) => e)));
    for (const failure of failures) expect((failure as Error).message).toBe('timed out after 200 ms');
    expect(requests).toHaveLength(3);

    // Paused: refused at once, without a call (the token is never accepted unconfirmed).
    const paused = await client.introspect('d').catch((e: unknown) => e);
    expect(paused).toBeInstanceOf(IntrospectionSheddingError);
    expect(paused).toBeInstanceOf(IntrospectionUnavailableError);
    expect((paused as Error).message).toBe('not called: the endpoint timed out 3 times in a row; next try in 1 s');
    expect((paused as IntrospectionSheddingError).retryAfter).toBe(1);
    expect(requests).toHaveLength(3);

    // After the pause one call tries the endpoint; the others do not wait for it.
    await new Promise((resolve) => setTimeout(resolve, 650));
    let release!: () => void;
    handler = (_q, _b, res) => {
      release = () => json(res, 200, ACTIVE);
    };
    const probe = client.introspect('e');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expect(client.introspect('f')).rejects.toThrow(
      'not called: the endpoint timed out 3 times in a row; one call is trying it again',
    );
    expect(requests).toHaveLength(4);
    release();
    expect(await probe).toEqual(ACTIVE);
    // It answered: calls go through again.
    handler = (_q, _b, res) => json(res, 200, ACTIVE);
    expect(await client.introspect('f')).toEqual(ACTIVE);
    expect(requests).toHaveLength(5);
  });

  it('a probe that times out again starts another pause; an endpoint that answers, even with an error, is not paused', async () => {
    handler = (_q, _b, res) => {
      hung.add(res);
    };
    const client = introspector({ timeoutMs: 150, pauseMs: 300 });
    for (const t of ['a', 'b', 'c']) await client.introspect(t).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 350));
    await expect(client.introspect('probe')).rejects.toThrow('timed out after 150 ms');
    await expect(client.introspect('next')).rejects.toThrow(
      'not called: the endpoint timed out 4 times in a row; next try in 1 s',
    );

    const erring = introspector({ timeoutMs: 2000, pauseMs: 60_000 });
    handler = (_q, _b, res) => json(res, 500, 'down', 'text/plain');
    for (const t of ['a', 'b', 'c', 'd']) {
      await expect(erring.introspect(t)).rejects.toThrow('HTTP 500 from the introspection endpoint');
    }
  });

  it(`lets at most ${MAX_CONCURRENT_INTROSPECTIONS} calls wait for a slow endpoint; the next token is refused at once`, async () => {
    const waiting: ServerResponse[] = [];
    handler = (_q, _b, res) => {
      waiting.push(res);
    };
    const client = introspector({ timeoutMs: 5000 });
    const calls = Array.from({ length: MAX_CONCURRENT_INTROSPECTIONS }, (_, i) => client.introspect(`tok-${i}`));
    // The same token as a waiting call shares it, and is not refused.
    const shared = client.introspect('tok-0');
    const refused = await client.introspect('one-more').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(IntrospectionSheddingError);
    expect((refused as Error).message).toBe(
      `not called: ${MAX_CONCURRENT_INTROSPECTIONS} introspection calls are already waiting for the endpoint`,
    );
    expect((refused as IntrospectionSheddingError).retryAfter).toBe(5);
    while (waiting.length < MAX_CONCURRENT_INTROSPECTIONS) await new Promise((resolve) => setTimeout(resolve, 10));
    for (const res of waiting) json(res, 200, ACTIVE);
    expect(await Promise.all([...calls, shared])).toHaveLength(MAX_CONCURRENT_INTROSPECTIONS + 1);
    handler = (_q, _b, res) => json(res, 200, ACTIVE);
    expect(await client.introspect('one-more')).toEqual(ACTIVE);
    expect(requests).toHaveLength(MAX_CONCURRENT_INTROSPECTIONS + 1);
  });

  it('maps an unreachable endpoint and an unknown endpoint to unavailable', async () => {
    const closed = introspector({ locate: async () => new URL('http://127.0.0.1:1/introspect') });
    await expect(closed.introspect('tok')).rejects.toThrow(IntrospectionUnavailableError);
    const unknown = introspector({
      locate: async () => {
        throw new Error('discovery metadata has no introspection_endpoint');
      },
    });
    await expect(unknown.introspect('tok')).rejects.toThrow(
      'introspection endpoint unknown: discovery metadata has no introspection_endpoint',
    );
  });

  it('never shows the secret when printed', () => {
    const i = introspector();
    expect(JSON.stringify(i.settings)).not.toContain(SECRET);
    expect(String(i.settings.secret)).toBe('[redacted]');
    expect(inspect(i.settings, { depth: 5 })).not.toContain(SECRET);
  });
});
