import { describe, expect, it } from '@jest/globals';
import { endpointUrl, issuerPathRewriter, TOKEN_ENDPOINT_PATH } from './endpoint-paths.js';
import { itMaps } from '../../test/support/maps.js';

describe('endpointUrl', () => {
  itMaps(
    (issuer: string) => endpointUrl(issuer, TOKEN_ENDPOINT_PATH),
    [
      ['https://sts.example.com', 'https://sts.example.com/oauth/token'],
      ['https://sts.example.com/', 'https://sts.example.com/oauth/token'],
      ['https://example.com/sts', 'https://example.com/sts/oauth/token'],
      ['https://example.com/sts//', 'https://example.com/sts/oauth/token'],
    ],
  );
});

describe('issuerPathRewriter', () => {
  it('is the identity when the issuer has no path', () => {
    const rewrite = issuerPathRewriter('https://sts.example.com');
    for (const url of ['/oauth/token', '/.well-known/oauth-authorization-server', '/x?y=1']) {
      expect(rewrite(url)).toBe(url);
    }
  });

  it('cuts an absolute-form target to its path and query when the issuer has no path (RFC 9112 §3.2.2)', () => {
    const rewrite = issuerPathRewriter('https://sts.example.com');
    expect(rewrite('http://other.example/oauth/token')).toBe('/oauth/token');
    expect(rewrite('HTTPS://sts.example.com:443/health/live?x=1')).toBe('/health/live?x=1');
    expect(rewrite('http://sts.example.com?x')).toBe('/?x');
  });

  const rewrite = issuerPathRewriter('https://example.com/sts');
  itMaps(rewrite, [
    // Endpoints below the issuer path map onto the routes declared without it.
    ['/sts/oauth/token', '/oauth/token'],
    ['/sts/.well-known/jwks.json', '/.well-known/jwks.json'],
    ['/sts/oauth/token?x=1', '/oauth/token?x=1'],
    ['/sts', '/'],
    // RFC 8414 §3.1: the well-known suffix is inserted between host and issuer path.
    ['/.well-known/oauth-authorization-server/sts', '/.well-known/oauth-authorization-server'],
    ['/.well-known/oauth-authorization-server/sts?x=1', '/.well-known/oauth-authorization-server?x=1'],
    // A reverse proxy that strips the prefix: left alone.
    ['/oauth/token', '/oauth/token'],
    // RFC 9112 §3.2.2: an absolute-form target routes on its path.
    ['http://example.com/sts/oauth/token', '/oauth/token'],
    ['https://other:8443/sts/oauth/token?x=1', '/oauth/token?x=1'],
    ['http://example.com/.well-known/oauth-authorization-server/sts', '/.well-known/oauth-authorization-server'],
    ['http://example.com', '/'],
    // Only a whole path segment matches the prefix.
    ['/stsx/oauth/token', '/stsx/oauth/token'],
    ['/.well-known/oauth-authorization-server/stsx', '/.well-known/oauth-authorization-server/stsx'],
  ]);
});
