import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { SigningKey, SigningKeySet } from './signing-keys.loader.js';

/** Actbridge's own keys: the active signing key, the published JWKS, and a verifier for its own tokens. */
export class KeyService {
  readonly jwks: Readonly<JSONWebKeySet>;
  /** Verifies tokens actbridge issued (chained exchanges) against its published keys. */
  readonly verificationKeys: JWTVerifyGetKey;

  constructor(private readonly keys: SigningKeySet) {
    this.jwks = { keys: keys.published.map((k) => ({ ...k.publicJwk })) };
    this.verificationKeys = createLocalJWKSet(this.jwks as JSONWebKeySet);
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

  /** Algorithms of the published keys, for metadata. */
  get algorithms(): string[] {
    return [...new Set(this.keys.published.map((k) => k.alg))];
  }
}
