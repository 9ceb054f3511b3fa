import { describe, expect, it } from '@jest/globals';
import type { ActbridgeVerifier, VerifyOptions } from './actbridge-verifier.js';
import { actbridgeHook } from './fastify.js';
import { ActbridgeGuard } from './nest.js';
import { checkResourceRequest, type RequestLike } from './resource-request.js';

/** The URL a DPoP proof's htu is checked against (RFC 9449 §4.3 check 9), as the guard derives it. */
async function htuTarget(request: Partial<RequestLike>, publicUrl?: string): Promise<string | undefined> {
  let url: string | undefined;
  const verifier = {
    dpopAlgorithms: ['ES256'],
    currentDpopNonce: () => undefined,
    verify: (_token: string, options: VerifyOptions) => {
      url = options.dpop?.url;
      return Promise.resolve({});
    },
  } as unknown as ActbridgeVerifier;
  const headers = { authorization: 'DPoP token', host: 'api.internal:8080', ...request.headers };
  await checkResourceRequest(verifier, { method: 'GET', url: '/', ...request, headers }, { publicUrl });
  return url;
}

describe('checkResourceRequest: the URL htu must match', () => {
  const rows: Array<[name: string, request: Partial<RequestLike>, publicUrl: string | undefined, expected: string]> = [
    [
      'origin form, Host header',
      { url: '/tools?x=1', protocol: 'http' },
      undefined,
      'http://api.internal:8080/tools?x=1',
    ],
    ['origin form, publicUrl', { url: '/tools' }, 'https://mcp.example.com', 'https://mcp.example.com/tools'],
    ['publicUrl with a trailing path', { url: '/tools' }, 'https://mcp.example.com/', 'https://mcp.example.com/tools'],
    // RFC 9112 §3.2.2: only the path of an absolute-form target counts, never its origin.
    [
      'absolute form naming another origin',
      { url: 'https://other.example/tools?x=1' },
      'https://mcp.example.com',
      'https://mcp.example.com/tools?x=1',
    ],
    [
      'absolute form, Host header',
      { url: 'https://other.example/tools', protocol: 'https' },
      undefined,
      'https://api.internal:8080/tools',
    ],
    // A path that starts with // is a path, not a network-path reference to another host.
    [
      '//host path',
      { url: '//other.example/tools' },
      'https://mcp.example.com',
      'https://mcp.example.com//other.example/tools',
    ],
    [
      'originalUrl wins over url',
      { url: '/x', originalUrl: '//other.example/x' },
      'https://mcp.example.com',
      'https://mcp.example.com//other.example/x',
    ],
  ];

  it.each(rows)('%s', async (...row) => {
    const [, request, publicUrl, expected] = row;
    expect(await htuTarget(request, publicUrl)).toBe(expected);
  });
});

describe('publicUrl, checked when the hook or guard is created', () => {
  const verifier = { dpopAlgorithms: ['ES256'], currentDpopNonce: () => undefined } as unknown as ActbridgeVerifier;
  const message = 'actbridge verify: publicUrl must be an absolute http(s) URL, e.g. https://api.example.com';

  // Read only per request before: a bad one failed every request with a 500 (Invalid URL), Bearer ones too.
  it.each(['mcp.example.com', '/tools', 'ftp://mcp.example.com', 'https://user@mcp.example.com', ''])(
    '%p is refused by the hook and the guard',
    (publicUrl) => {
      expect(() => actbridgeHook(verifier, { publicUrl })).toThrow(new TypeError(message));
      expect(() => new ActbridgeGuard(verifier, { publicUrl })).toThrow(new TypeError(message));
    },
  );

  it.each(['https://mcp.example.com', 'http://127.0.0.1:8080/', 'https://example.com/mcp'])(
    '%p is accepted',
    (publicUrl) => {
      expect(() => actbridgeHook(verifier, { publicUrl })).not.toThrow();
      expect(() => new ActbridgeGuard(verifier, { publicUrl })).not.toThrow();
    },
  );
});

describe('checkResourceRequest: the origin the request names', () => {
  /** What the guard answers for a DPoP request with this Host and protocol, with a verifier that accepts every token. */
  async function outcome(host: string, protocol = 'http') {
    const verifier = {
      dpopAlgorithms: ['ES256'],
      currentDpopNonce: () => undefined,
      verify: () => Promise.resolve({ subject: 'alice' }),
    } as unknown as ActbridgeVerifier;
    const headers = { authorization: 'DPoP token', host };
    return checkResourceRequest(verifier, { method: 'GET', url: '/admin', protocol, headers }, {});
  }

  // RFC 9112 §3.2: Host is uri-host [":" port]. `api/tools#` on GET /admin made the htu http://api/tools.
  it.each([
    'api.internal/tools#',
    'api.internal/tools?',
    'api.internal?',
    'api.internal#',
    'user@api.internal',
    'a\\b',
    '',
  ])('Host %p: 400 invalid_request', async (host) => {
    expect(await outcome(host)).toMatchObject({
      ok: false,
      status: 400,
      body: { error: 'invalid_request', error_description: 'Host header must be a host and an optional port' },
    });
  });

  // Fastify and Express read X-Forwarded-Proto behind a trusted proxy.
  it('a forwarded protocol other than http(s): 400 invalid_request', async () => {
    expect(await outcome('api.internal', 'http://api.internal/tools#')).toMatchObject({
      status: 400,
      body: { error: 'invalid_request', error_description: 'request protocol must be http or https' },
    });
  });

  it.each(['api.internal', 'API.internal:8443', '127.0.0.1:80', '[::1]:8080', 'xn--bcher-kva.example'])(
    'Host %p is read',
    async (host) => {
      expect(await outcome(host, 'https')).toEqual({ ok: true, token: { subject: 'alice' } });
    },
  );
});

describe('checkResourceRequest: the Authorization header', () => {
  /** What the guard answers for these headers, with a verifier that accepts every token. */
  async function outcome(request: Partial<RequestLike>) {
    const verifier = {
      dpopAlgorithms: ['ES256'],
      currentDpopNonce: () => undefined,
      verify: () => Promise.resolve({ subject: 'alice' }),
    } as unknown as ActbridgeVerifier;
    return checkResourceRequest(verifier, { method: 'GET', url: '/', headers: {}, ...request }, {});
  }

  // Node's `headers` keeps the first of repeated Authorization fields and drops the rest.
  it.each([
    ['raw.headersDistinct (Fastify)', { raw: { headersDistinct: { authorization: ['Bearer good', 'Bearer other'] } } }],
    ['headersDistinct (Express)', { headersDistinct: { authorization: ['Bearer good', 'DPoP other'] } }],
  ])('two Authorization headers, from %s: 400 invalid_request (RFC 9110 §11.6.2)', async (_name, distinct) => {
    const result = await outcome({ headers: { authorization: 'Bearer good' }, ...distinct });
    expect(result).toEqual({
      ok: false,
      status: 400,
      challenge: 'Bearer error="invalid_request", error_description="send exactly one Authorization header"',
      body: { error: 'invalid_request', error_description: 'send exactly one Authorization header' },
    });
  });

  // RFC 6750 §2 and §2.3: one method per request, and never the URL (logs, Referer).
  it.each([
    ['alone', '/tools?access_token=abc', {}],
    ['beside the header', '/tools?x=1&access_token=abc', { authorization: 'Bearer good' }],
    ['percent-encoded name, empty value', '/tools?%61ccess_token=', { authorization: 'Bearer good' }],
    ['absolute form', 'https://api.example/tools?access_token=abc#f', { authorization: 'Bearer good' }],
  ])('access_token in the query, %s: 400 invalid_request', async (_name, url, headers) => {
    const description = 'access tokens are not accepted in the URL; send the token in the Authorization header';
    expect(await outcome({ url, headers })).toEqual({
      ok: false,
      status: 400,
      challenge: `Bearer error="invalid_request", error_description="${description}"`,
      body: { error: 'invalid_request', error_description: description },
    });
  });

  it('a query parameter merely containing the name is not a token', async () => {
    const result = await outcome({
      url: '/tools?my_access_token=1&q=access_token',
      headers: { authorization: 'Bearer good' },
    });
    expect(result.ok).toBe(true);
  });

  // RFC 6750 §3.1: an unsupported authentication method is answered like no credentials: no error code.
  it.each(['Basic YWxpY2U6c2VjcmV0', 'Token abc', 'Bearertoken'])('%s: 401 with a bare challenge', async (value) => {
    expect(await outcome({ headers: { authorization: value } })).toEqual({
      ok: false,
      status: 401,
      challenge: 'Bearer, DPoP algs="ES256"',
      body: undefined,
    });
  });

  it.each(['Bearer', 'Bearer a b', 'dpop a,b', 'Bearer\tabc', 'DPoP\t abc'])(
    '%s (Bearer or DPoP, malformed): 400 invalid_request',
    async (value) => {
      expect(await outcome({ headers: { authorization: value } })).toMatchObject({
        ok: false,
        status: 400,
        body: {
          error: 'invalid_request',
          error_description: "Authorization must be 'Bearer <token>' or 'DPoP <token>'",
        },
      });
    },
  );

  it('one Authorization header is read', async () => {
    const result = await outcome({
      headers: { authorization: 'Bearer good' },
      raw: { headersDistinct: { authorization: ['Bearer good'] } },
    });
    expect(result).toEqual({ ok: true, token: { subject: 'alice' } });
  });
});
