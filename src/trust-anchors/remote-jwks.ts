import { Logger } from '@nestjs/common';
import {
  createLocalJWKSet,
  errors as joseErrors,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type JWTVerifyGetKey,
} from 'jose';
import { isJwkSet } from '../config/config-validators.js';
import type { ServerConfig } from '../config/server-config.js';
import { readCappedBody } from '../common/capped-body.js';
import { fetchFailure } from './fetch-failure.js';

/**
 * Keys could not be obtained at all (never fetched successfully, or too stale to trust). The message
 * says why, for operators (logs, audit): it may name the upstream URL, host or network error. The
 * caller is told only `description`.
 */
export class KeysUnavailableError extends Error {
  override readonly name = 'KeysUnavailableError';

  constructor(
    message: string,
    readonly description = 'keys unavailable',
  ) {
    super(message);
  }
}

export interface RemoteJwksPolicy {
  /** Per-request timeout, ms. */
  readonly timeoutMs: number;
  /** Least time between two fetch attempts, s, whatever their outcome. */
  readonly cooldownSec: number;
  /** Age after which the set is refreshed in the background, s. */
  readonly maxAgeSec: number;
  /** How long the last good set keeps working while refreshes fail, s. */
  readonly maxStaleSec: number;
}

export function remoteJwksPolicy(
  server: Pick<ServerConfig, 'upstreamTimeoutMs' | 'jwksCooldown' | 'jwksMaxAge' | 'jwksMaxStale'>,
): RemoteJwksPolicy {
  return {
    timeoutMs: server.upstreamTimeoutMs,
    cooldownSec: server.jwksCooldown,
    maxAgeSec: server.jwksMaxAge,
    maxStaleSec: server.jwksMaxStale,
  };
}

const MAX_JWKS_BYTES = 512 * 1024;
const UNAVAILABLE = 'issuer keys unavailable';

type LocalSet = ReturnType<typeof createLocalJWKSet>;

/**
 * A trust anchor's remote JWKS, cached. jose's createRemoteJWKSet is not used directly because it
 * fails a verification when a stale cache cannot be refreshed, and counts its cooldown from the last
 * *successful* fetch, so a hanging endpoint would stall every unknown-`kid` request for the full
 * timeout. Here:
 *  - a stale set is refreshed in the background and keeps working until JWKS_MAX_STALE;
 *  - an unknown `kid` triggers one refetch, at most once per cooldown counted from the last attempt;
 *  - concurrent callers share one in-flight fetch; redirects are refused; bodies are size-capped.
 * Key selection itself is jose's (createLocalJWKSet).
 */
export class RemoteJwks {
  private local: LocalSet | undefined;
  private fetchedAt = 0;
  private lastAttemptAt = 0;
  private lastError: string | undefined;
  private inFlight: Promise<void> | undefined;
  private readonly logger: Logger;

  /**
   * @param locate resolves the JWKS URL (for discovery anchors, by running discovery); may throw.
   */
  constructor(
    private readonly locate: () => Promise<URL>,
    private readonly policy: RemoteJwksPolicy,
    name: string,
    private readonly now: () => number = Date.now,
  ) {
    this.logger = new Logger(`TrustAnchor:${name}`);
  }

  readonly getKey: JWTVerifyGetKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    const now = this.now();
    if (!this.local || now - this.fetchedAt > this.policy.maxStaleSec * 1000 + this.policy.maxAgeSec * 1000) {
      // Nothing usable cached: this request has to wait for a fetch (unless one just failed).
      this.local = undefined;
      await this.refresh(true);
    } else if (now - this.fetchedAt > this.policy.maxAgeSec * 1000) {
      void this.refresh(false).catch(() => undefined);
    }
    const local = this.local;
    if (!local) throw new KeysUnavailableError(this.unavailableMessage(), UNAVAILABLE);
    try {
      return await local(header, token);
    } catch (error) {
      if (!(error instanceof joseErrors.JWKSNoMatchingKey)) throw error;
      // An unknown kid may be a key the issuer just rotated in. Join a fetch already under way (another
      // request may have started it for the same kid), else refetch, at most once per cooldown.
      if (this.inFlight) {
        await this.inFlight.catch(() => undefined);
      } else if (this.local === local && !this.coolingDown()) {
        await this.refresh(true).catch(() => undefined);
      }
      const fresh = this.local;
      if (fresh === local || fresh === undefined) {
        // Nothing newer than the set that did not match.
        if (this.lastError) {
          throw new KeysUnavailableError(
            `no cached key matches, and ${this.unavailableMessage()}`,
            `no cached key matches, and ${UNAVAILABLE}`,
          );
        }
        throw error;
      }
      return fresh(header, token);
    }
  };

  /** Whether a key set is cached and young enough to be used. */
  usable(): boolean {
    return (
      this.local !== undefined &&
      this.now() - this.fetchedAt <= (this.policy.maxAgeSec + this.policy.maxStaleSec) * 1000
    );
  }

  /** Fetches once, eagerly (startup); failures are logged, not thrown. */
  async warmUp(): Promise<void> {
    await this.refresh(true).catch(() => undefined);
  }

  private coolingDown(): boolean {
    return this.now() - this.lastAttemptAt < this.policy.cooldownSec * 1000;
  }

  /** Runs (or joins) a fetch. With `mustTry`, respects the cooldown by failing fast instead of fetching. */
  private async refresh(mustTry: boolean): Promise<void> {
    if (this.inFlight) return this.inFlight;
    if (this.coolingDown()) {
      if (mustTry && !this.local) throw new KeysUnavailableError(this.unavailableMessage(), UNAVAILABLE);
      return;
    }
    this.lastAttemptAt = this.now();
    const attempt = this.fetchOnce()
      .then((jwks) => {
        this.local = createLocalJWKSet(jwks);
        this.fetchedAt = this.now();
        if (this.lastError) this.logger.log('JWKS reachable again');
        this.lastError = undefined;
      })
      .catch((error: unknown) => {
        this.lastError = error instanceof Error ? error.message : String(error);
        this.logger.warn(`JWKS fetch failed: ${this.lastError}${this.local ? ' (cached keys stay in use)' : ''}`);
        throw new KeysUnavailableError(this.unavailableMessage(), UNAVAILABLE);
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    this.inFlight = attempt;
    return attempt;
  }

  private async fetchOnce(): Promise<JSONWebKeySet> {
    const url = await this.locate();
    const response = await fetch(url, {
      redirect: 'manual',
      signal: AbortSignal.timeout(this.policy.timeoutMs),
      headers: { accept: 'application/jwk-set+json, application/json' },
    }).catch((error: unknown) => {
      throw fetchFailure(url, error, this.policy.timeoutMs);
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status} from ${url.href}`);
    }
    const text = (await readCappedBody(response, MAX_JWKS_BYTES, this.policy.timeoutMs, 'JWKS')).toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error('JWKS response is not JSON');
    }
    if (!isJwkSet(body)) throw new Error('JWKS response is not a JWK Set');
    return body as JSONWebKeySet;
  }

  private unavailableMessage(): string {
    return `${UNAVAILABLE}${this.lastError ? `: ${this.lastError}` : ''}`;
  }
}
