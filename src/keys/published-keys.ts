import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { SigningKey, SigningKeySet } from './signing-keys.loader.js';

/**
 * One set of actbridge's own keys, as loaded: the active signing key, the published JWKS, and a
 * verifier for its own tokens. Built once per configuration generation, never modified.
 */
export class PublishedKeys {
  readonly jwks: Readonly<JSONWebKeySet>;
  /** Verifies tokens actbridge issued (chained exchanges) against its published keys. */
  readonly verificationKeys: JWTVerifyGetKey;
  /** Algorithms of the published keys, for metadata and for its own tokens' allowlist. */
  readonly algorithms: string[];

  constructor(private readonly keys: SigningKeySet) {
    this.jwks = { keys: keys.published.map((k) => ({ ...k.publicJwk })) };
    this.verificationKeys = createLocalJWKSet(this.jwks as JSONWebKeySet);
    this.algorithms = [...new Set(keys.published.map((k) => k.alg))];
  }

  get set(): SigningKeySet {
    return this.keys;
  }

  get active(): SigningKeySet['active'] {
    return this.keys.active;
  }

  get published(): readonly SigningKey[] {
    return this.keys.published;
  }

  get ephemeral(): boolean {
    return this.keys.ephemeral;
  }
}
