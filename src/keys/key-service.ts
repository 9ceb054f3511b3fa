import { Injectable } from '@nestjs/common';
import type { JSONWebKeySet, JWTVerifyGetKey } from 'jose';
import { LiveConfig, Slot } from '../config/live-config.js';
import type { PublishedKeys } from './published-keys.js';
import type { SigningKey, SigningKeySet } from './signing-keys.loader.js';

/** actbridge's own keys in the configuration generation in force. */
export const KEYS = new Slot<PublishedKeys>('keys');

/**
 * actbridge's own keys, from the configuration in force (re-read on SIGHUP and every
 * SIGNING_KEYS_RELOAD_INTERVAL): the active signing key, the published JWKS, a verifier for its own tokens.
 */
@Injectable()
export class KeyService {
  constructor(private readonly live: LiveConfig) {}

  private get keys(): PublishedKeys {
    return this.live.read(KEYS);
  }

  get jwks(): Readonly<JSONWebKeySet> {
    return this.keys.jwks;
  }

  /** Verifies tokens actbridge issued (chained exchanges) against its published keys. */
  get verificationKeys(): JWTVerifyGetKey {
    return this.keys.verificationKeys;
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
    return this.keys.algorithms;
  }
}
