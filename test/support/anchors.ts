import { createLocalJWKSet } from 'jose';
import type { ServerConfig } from '../../src/config/server-config.js';
import type { PublishedKeys } from '../../src/keys/published-keys.js';
import { AnchorIndex } from '../../src/trust-anchors/anchor-index.js';
import type { JwtTrustAnchor, SamlTrustAnchor } from '../../src/trust-anchors/trust-anchor.js';
import type { TrustAnchorConfig } from '../../src/trust-anchors/trust-anchor.config.js';
import { TrustAnchorRegistry } from '../../src/trust-anchors/trust-anchor-registry.js';

/**
 * Runtime trust anchors for unit specs, with neutral defaults: a JWT issuer that accepts nothing
 * unless the spec says so. End-to-end suites build anchors from files through the real loader.
 */
export function testJwtAnchor(
  fields: Partial<JwtTrustAnchor> & Pick<JwtTrustAnchor, 'name' | 'issuer'>,
): JwtTrustAnchor {
  return {
    kind: 'jwt',
    audiences: [],
    algorithms: ['ES256'],
    accessTokenTyp: ['at+jwt'],
    trustedForChains: false,
    clockSkew: 0,
    maxTokenAge: undefined,
    maxTokenLifetime: 86_400,
    developmentOnly: false,
    keys: createLocalJWKSet({ keys: [] }),
    usable: () => true,
    warmUp: async () => undefined,
    self: false,
    tokenTypes: [],
    clientIds: new Map(),
    ...fields,
  };
}

export function testSamlAnchor(
  fields: Partial<SamlTrustAnchor> & Pick<SamlTrustAnchor, 'name' | 'issuer'>,
): SamlTrustAnchor {
  return {
    kind: 'saml',
    entityId: fields.issuer,
    clockSkew: 0,
    developmentOnly: false,
    trustedForChains: false,
    self: false,
    allowUnsignedAssertionInSignedResponse: false,
    canonicalization: 'exclusive',
    maxAssertionLifetime: 300,
    attributeRenames: new Map(),
    attributeClaims: new Map(),
    certificates: async () => [],
    usable: () => true,
    warmUp: async () => undefined,
    ...fields,
  };
}

/** A registry of one anchor file, `idp.yaml`, built by the real index (production mode), for validator specs. */
export function oneAnchorRegistry(server: ServerConfig, config: TrustAnchorConfig): TrustAnchorRegistry {
  const keys = { algorithms: ['ES256'], verificationKeys: async () => undefined } as unknown as PublishedKeys;
  return TrustAnchorRegistry.of(
    new AnchorIndex(server, 'production', [{ name: 'idp', file: 'idp.yaml', config }], keys),
  );
}
