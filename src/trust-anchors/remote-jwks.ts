import {
  createLocalJWKSet,
  errors as joseErrors,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type JWTVerifyGetKey,
} from 'jose';
import { clock } from '../common/clock.js';
import { isJwkSet } from '../config/config-validators.js';
import type { ServerConfig } from '../config/server-config.js';
import { RemoteDocument, type RemoteDocumentPolicy } from './remote-document.js';

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

export type RemoteJwksPolicy = RemoteDocumentPolicy;

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

const UNAVAILABLE = 'issuer keys unavailable';

type LocalSet = ReturnType<typeof createLocalJWKSet>;

/**
 * A trust anchor's remote JWKS (RemoteDocument's caching). jose's createRemoteJWKSet is not used: it
 * fails a verification when a stale cache cannot be refreshed, and counts its cooldown from the last
 * *successful* fetch. An unknown `kid` triggers one refetch (it may be a key the issuer just rotated
 * in), at most once per cooldown. Key selection itself is jose's (createLocalJWKSet).
 */
export class RemoteJwks {
  private readonly document: RemoteDocument<LocalSet>;

  /** @param locate resolves the JWKS URL (for discovery anchors, by running discovery); may throw. */
  constructor(locate: () => Promise<URL>, policy: RemoteJwksPolicy, name: string, now: () => number = clock.ms) {
    this.document = new RemoteDocument(
      { name: 'JWKS', kind: 'jwks', accept: 'application/jwk-set+json, application/json', maxBytes: 512 * 1024 },
      locate,
      parseJwks,
      policy,
      name,
      now,
    );
  }

  readonly getKey: JWTVerifyGetKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    const local = await this.document.current();
    if (!local) throw new KeysUnavailableError(this.unavailableMessage(), UNAVAILABLE);
    try {
      return await local(header, token);
    } catch (error) {
      if (!(error instanceof joseErrors.JWKSNoMatchingKey)) throw error;
      const fresh = await this.document.newerThan(local);
      if (fresh === local || fresh === undefined) {
        // Nothing newer than the set that did not match.
        if (this.document.lastError) {
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
    return this.document.usable();
  }

  /** Fetches once, eagerly (startup, readiness); failures are logged, not thrown. */
  warmUp(): Promise<void> {
    return this.document.warmUp();
  }

  private unavailableMessage(): string {
    const reason = this.document.lastError;
    return `${UNAVAILABLE}${reason ? `: ${reason}` : ''}`;
  }
}

function parseJwks(body: Buffer): LocalSet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new Error('JWKS response is not JSON');
  }
  // An empty set is the issuer saying it has no keys (all withdrawn, RFC 7517 §5): believed like any
  // other set, so its tokens are refused, rather than kept trusted on the keys cached before it.
  if (isEmptyJwkSet(parsed)) return createLocalJWKSet({ keys: [] });
  if (!isJwkSet(parsed)) throw new Error('JWKS response is not a JWK Set');
  return createLocalJWKSet(parsed as JSONWebKeySet);
}

function isEmptyJwkSet(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Array.isArray((value as { keys?: unknown }).keys)
    ? (value as { keys: unknown[] }).keys.length === 0
    : false;
}
