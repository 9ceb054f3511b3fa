import { describe, expect, it } from '@jest/globals';
import { ActbridgeVerifier, type ActbridgeVerifierOptions } from './actbridge-verifier.js';

const issuer = 'https://sts.example.com';

describe('ActbridgeVerifier options', () => {
  it.each<[string, Partial<ActbridgeVerifierOptions>, string]>([
    ['no issuer URL', { issuer: 'sts.example.com' }, 'issuer must be a URL'],
    ['a negative clock tolerance', { clockTolerance: -5 }, 'clockTolerance must be a number of seconds from 0 to 300'],
    ['a timeout in milliseconds', { timeout: 5000 }, 'timeout must be a number of seconds from 0.1 to 600'],
    ['a timeout that is no number', { timeout: '5' as unknown as number }, 'timeout must be a number of seconds'],
    ['an infinite DPoP proof age', { dpopMaxAge: Infinity }, 'dpopMaxAge must be a number of seconds from 1 to 3600'],
    // Node fires a timer beyond 2^31-1 ms after 1 ms: the list would be fetched a thousand times a second.
    [
      'a refresh interval of a month',
      { revocationList: { refreshInterval: 2_592_000 } },
      'refreshInterval must be a number of seconds from 0.1 to 86400',
    ],
    ['a zero staleness', { revocationList: { maxStaleness: 0 } }, 'maxStaleness must be a number of seconds from 1'],
  ])('refuses %s at construction', (_name, options, message) => {
    expect(() => new ActbridgeVerifier({ issuer, audience: 'api', ...options })).toThrow(
      new RegExp(`^ActbridgeVerifier: ${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
    );
  });

  it('accepts the documented defaults and values within bounds', () => {
    expect(
      () =>
        new ActbridgeVerifier({
          issuer,
          audience: 'api',
          timeout: 2,
          clockTolerance: 0,
          dpopMaxAge: 60,
          revocationList: { refreshInterval: 0.5, maxStaleness: 600 },
        }),
    ).not.toThrow();
    expect(() => new ActbridgeVerifier({ issuer, revocationList: true })).not.toThrow();
  });
});
