import { describe, expect, it } from '@jest/globals';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { clock } from '../common/clock.js';
import { ConfigError } from '../config/config-error.js';
import { SamlAnchorConfig } from '../saml/saml-anchor.config.js';
import { KeysUnavailableError } from './remote-jwks.js';
import { loadServerConfig } from '../config/server-config.js';
import type { PublishedKeys } from '../keys/published-keys.js';
import { AnchorIndex } from './anchor-index.js';
import { IntrospectionConfig } from './introspection.config.js';
import { SecretValue } from './secret-value.js';
import { IntrospectionUnavailableError } from './token-introspector.js';
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

describe('discovery shared by an anchor’s keys and its introspection', () => {
  it('is paced by JWKS_COOLDOWN after a failure: a stream of opaque tokens does not refetch it each time', async () => {
    let discoveries = 0;
    const server = createServer((req, res) => {
      req.resume();
      if (req.url?.endsWith('/.well-known/openid-configuration')) discoveries++;
      res.writeHead(500).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const idp = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const config = Object.assign(new TrustAnchorConfig(), {
        issuer: idp,
        audiences: [ISSUER],
        introspection: Object.assign(new IntrospectionConfig(), { client_id: 'actbridge', clients: ['svc'] }),
      });
      const settings = loadServerConfig({ ISSUER, JWKS_COOLDOWN: '30' });
      const files = [{ name: 'idp', file: 'idp.yaml', config, introspectionSecret: new SecretValue('s') }];
      const anchor = TrustAnchorRegistry.of(new AnchorIndex(settings, 'production', files, keys)).find(idp)!;
      for (const token of ['a', 'b', 'c', 'd']) {
        await expect(anchor.introspection!.introspect(token)).rejects.toThrow(IntrospectionUnavailableError);
      }
      expect(discoveries).toBe(1);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

// SAML Metadata §2.3.1: a metadata file's certificates stop being used when its validUntil passes.
describe('a SAML anchor whose metadata file has a validUntil', () => {
  const VALID_UNTIL = Date.parse('2027-01-15T08:00:00Z') / 1000;
  const found = () =>
    registry(
      {},
      {
        idp: {
          kind: 'saml',
          issuer: 'https://idp.example/saml',
          saml: Object.assign(new SamlAnchorConfig(), {
            metadata_file: 'idp.xml',
            resolvedCertificates: ['PEM'],
            resolvedValidUntil: VALID_UNTIL,
          }),
        },
      },
    ).findSaml('https://idp.example/saml')!;

  it('serves its certificates until then, and is usable', async () => {
    const anchor = found();
    await clock.at((VALID_UNTIL - 1) * 1000, async () => {
      await expect(anchor.certificates()).resolves.toEqual(['PEM']);
      expect(anchor.usable()).toBe(true);
    });
  });

  it('refuses them from then on as keys unavailable (503), and is no longer usable', async () => {
    const anchor = found();
    await clock.at(VALID_UNTIL * 1000, async () => {
      const error = await anchor.certificates().catch((e: unknown) => e);
      expect(error).toEqual(new KeysUnavailableError('IdP metadata expired at 2027-01-15T08:00:00.000Z (validUntil)'));
      expect((error as KeysUnavailableError).description).toBe('IdP metadata expired');
      expect(anchor.usable()).toBe(false);
    });
  });
});
