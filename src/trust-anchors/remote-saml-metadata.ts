import { Logger } from '@nestjs/common';
import { certificatesFromMetadata } from '../saml/saml-certificates.js';
import { readCappedBody } from '../common/capped-body.js';
import { fetchFailure } from './fetch-failure.js';
import { KeysUnavailableError, type RemoteJwksPolicy } from './remote-jwks.js';

const MAX_METADATA_BYTES = 1024 * 1024;

/**
 * A SAML IdP's signing certificates from its metadata URL, cached with the JWKS policy: fetched at
 * startup in the background and on first use; refreshed in the background once older than
 * JWKS_MAX_AGE; the last good certificates keep working while refreshes fail, up to JWKS_MAX_STALE;
 * at most one attempt per JWKS_COOLDOWN; each request bounded by UPSTREAM_TIMEOUT_MS, redirects
 * refused, body capped at 1 MiB. A document that does not parse, or names another entityID, counts as
 * a failed fetch (the cached certificates stay in use).
 */
export class RemoteSamlMetadata {
  private certs: string[] | undefined;
  private fetchedAt = 0;
  private lastAttemptAt = 0;
  private lastError: string | undefined;
  private inFlight: Promise<void> | undefined;
  private readonly logger: Logger;

  constructor(
    private readonly url: URL,
    private readonly entityId: string,
    private readonly policy: RemoteJwksPolicy,
    name: string,
    private readonly now: () => number = Date.now,
  ) {
    this.logger = new Logger(`TrustAnchor:${name}`);
  }

  /** The IdP's signing certificates (PEM); throws KeysUnavailableError when none are usable. */
  async certificates(): Promise<readonly string[]> {
    const age = this.now() - this.fetchedAt;
    if (!this.certs || age > (this.policy.maxAgeSec + this.policy.maxStaleSec) * 1000) {
      this.certs = undefined;
      await this.refresh().catch(() => undefined);
    } else if (age > this.policy.maxAgeSec * 1000) {
      void this.refresh().catch(() => undefined);
    }
    if (!this.certs) {
      throw new KeysUnavailableError(
        `IdP metadata unavailable${this.lastError ? `: ${this.lastError}` : ''}`,
        'IdP metadata unavailable',
      );
    }
    return this.certs;
  }

  /** Whether certificates are cached and young enough to be used. */
  usable(): boolean {
    return (
      this.certs !== undefined &&
      this.now() - this.fetchedAt <= (this.policy.maxAgeSec + this.policy.maxStaleSec) * 1000
    );
  }

  /** Fetches once, eagerly (startup); failures are logged, not thrown. */
  async warmUp(): Promise<void> {
    await this.refresh().catch(() => undefined);
  }

  private async refresh(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    if (this.now() - this.lastAttemptAt < this.policy.cooldownSec * 1000) return;
    this.lastAttemptAt = this.now();
    this.inFlight = this.fetchOnce()
      .then((certs) => {
        this.certs = certs;
        this.fetchedAt = this.now();
        if (this.lastError) this.logger.log('IdP metadata reachable again');
        this.lastError = undefined;
      })
      .catch((error: unknown) => {
        this.lastError = error instanceof Error ? error.message : String(error);
        this.logger.warn(
          `IdP metadata fetch failed: ${this.lastError}${this.certs ? ' (cached certificates stay in use)' : ''}`,
        );
        throw error;
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }

  private async fetchOnce(): Promise<string[]> {
    const response = await fetch(this.url, {
      redirect: 'manual',
      signal: AbortSignal.timeout(this.policy.timeoutMs),
      headers: { accept: 'application/samlmetadata+xml, application/xml, text/xml' },
    }).catch((error: unknown) => {
      throw fetchFailure(this.url, error, this.policy.timeoutMs);
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status} from ${this.url.href}`);
    }
    const body = await readCappedBody(response, MAX_METADATA_BYTES, this.policy.timeoutMs, 'metadata');
    return certificatesFromMetadata(body.toString('utf8'), this.entityId);
  }
}
