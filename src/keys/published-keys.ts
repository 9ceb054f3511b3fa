import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { SigningKey, SigningKeySet } from './signing-keys.loader.js';

/**
 * One set of actbridge's own keys, as loaded: the active signing key, the published JWKS, and a
 * verifier for its own tokens. Built once per configuration generation, never modified.
 */
export class PublishedKeys implements SigningKeySet {
  readonly active: SigningKeySet['active'];
  readonly published: readonly SigningKey[];
  readonly ephemeral: boolean;
  readonly jwks: Readonly<JSONWebKeySet>;
  /** Verifies tokens actbridge issued (chained exchanges) against its published keys. */
  readonly verificationKeys: JWTVerifyGetKey;
  /** Algorithms of the published keys, for metadata and for its own tokens' allowlist. */
  readonly algorithms: string[];

  constructor(readonly set: SigningKeySet) {
    this.active = set.active;
    this.published = set.published;
    this.ephemeral = set.ephemeral;
    this.jwks = { keys: set.published.map((k) => ({ ...k.publicJwk })) };
    this.verificationKeys = createLocalJWKSet(this.jwks as JSONWebKeySet);
    this.algorithms = [...new Set(set.published.map((k) => k.alg))];
  }
}
