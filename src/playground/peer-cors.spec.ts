import { describe, expect, it } from '@jest/globals';
import { peerCorsHeaders } from './peer-cors.js';

const PEER = 'https://playground-b.example';

describe('peerCorsHeaders: the paired playground origin only, on the paths it needs', () => {
  it('allows the exact peer origin at the token endpoint and the two helpers', () => {
    for (const path of ['/oauth/token', '/playground/demo', '/playground/audit']) {
      expect(peerCorsHeaders(PEER, path, PEER)).toEqual({
        'access-control-allow-origin': PEER,
        'access-control-expose-headers': 'DPoP-Nonce',
      });
    }
  });

  it('nothing for another origin, another path, no origin, or no peer configured', () => {
    expect(peerCorsHeaders('https://playground-b.example.evil', '/oauth/token', PEER)).toBeUndefined();
    expect(peerCorsHeaders('null', '/oauth/token', PEER)).toBeUndefined();
    expect(peerCorsHeaders(undefined, '/oauth/token', PEER)).toBeUndefined();
    expect(peerCorsHeaders(PEER, '/playground/explain', PEER)).toBeUndefined();
    expect(peerCorsHeaders(PEER, '/oauth/introspect', PEER)).toBeUndefined();
    expect(peerCorsHeaders(PEER, '/oauth/token', undefined)).toBeUndefined();
  });
});
