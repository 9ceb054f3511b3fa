import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '../config/config-error.js';
import { loadServerConfig } from '../config/server-config.js';
import type { PublishedKeys } from '../keys/published-keys.js';
import { AnchorIndex } from './anchor-index.js';
import { TrustAnchorRegistry } from './trust-anchor-registry.js';
import { TrustAnchorConfig } from './trust-anchor.config.js';

const ISSUER = 'https://sts.example';
const keys = {
  ephemeral: true,
  algorithms: ['ES256'],
  verificationKeys: async () => undefined,
} as unknown as PublishedKeys;

function registry(env: Record<string, string>, anchors: Record<string, Partial<TrustAnchorConfig>>) {
  const server = loadServerConfig({ ISSUER, ...env });
  const files = Object.entries(anchors).map(([name, fields]) => ({
    name,
    file: `${name}.yaml`,
    config: Object.assign(new TrustAnchorConfig(), { audiences: [ISSUER], jwks: { keys: [] } }, fields),
  }));
  return TrustAnchorRegistry.of(new AnchorIndex(server, 'production', files, keys));
}

describe('the presented-token lifetime bound', () => {
  const anchors = {
    plain: { issuer: 'https://idp.example' },
    short: { issuer: 'https://short.example', max_token_lifetime: 600 },
  };

  it('is MAX_PRESENTED_TOKEN_LIFETIME (default 86400 s) for actbridge and anchors without their own', () => {
    const found = registry({}, anchors);
    expect(found.find(ISSUER)!.maxTokenLifetime).toBe(86400);
    expect(found.find('https://idp.example')!.maxTokenLifetime).toBe(86400);
    expect(found.find('https://short.example')!.maxTokenLifetime).toBe(600);
  });

  it('follows the environment, and an anchor’s max_token_lifetime overrides it either way', () => {
    const found = registry({ MAX_PRESENTED_TOKEN_LIFETIME: '300' }, anchors);
    expect(found.find(ISSUER)!.maxTokenLifetime).toBe(300);
    expect(found.find('https://idp.example')!.maxTokenLifetime).toBe(300);
    expect(found.find('https://short.example')!.maxTokenLifetime).toBe(600);
  });

  it.each(['0', '1.5', '1d', '31536001'])('refuses MAX_PRESENTED_TOKEN_LIFETIME=%s, naming the variable', (value) => {
    expect(() => loadServerConfig({ ISSUER, MAX_PRESENTED_TOKEN_LIFETIME: value })).toThrow(ConfigError);
    expect(() => loadServerConfig({ ISSUER, MAX_PRESENTED_TOKEN_LIFETIME: value })).toThrow(
      /MAX_PRESENTED_TOKEN_LIFETIME: /,
    );
  });
});
