import { Logger } from '@nestjs/common';
import { readCappedBody } from '../common/capped-body.js';
import { clock } from '../common/clock.js';
import { fetchFailure } from './fetch-failure.js';
import type { RemoteDocumentKind, RemoteFetchObserver } from '../observability/metrics.js';
import { inSpan } from '../observability/tracing.js';

/** How an anchor's remote keys (JWKS, SAML metadata) are fetched and cached (JWKS_* settings). */
export interface RemoteDocumentPolicy {
  /** Per-request timeout, ms. */
  readonly timeoutMs: number;
  /** Least time between two fetch attempts, s, whatever their outcome. */
  readonly cooldownSec: number;
  /** Age after which the document is refreshed in the background, s. */
  readonly maxAgeSec: number;
  /** How long the last good document keeps working while refreshes fail, s. */
  readonly maxStaleSec: number;
  /** Counts fetches and reads the cached copy's age (metrics); absent in tools and tests. */
  readonly observer?: RemoteFetchObserver;
}

/**
 * A remote document an anchor's keys come from, fetched and cached by one policy:
 *  - a stale copy is refreshed in the background and keeps working until maxStale after maxAge;
 *  - at most one attempt per cooldown, counted from the last attempt whatever its outcome, so a
 *    hanging endpoint never stalls every request for the full timeout;
 *  - concurrent callers share one fetch; redirects are refused; bodies are size-capped; a body that
 *    does not parse counts as a failed fetch (the cached copy stays in use).
 * Failures are logged with the URL and cause (`lastError`); callers are told only what is missing.
 */
export class RemoteDocument<T> {
  private value: T | undefined;
  private fetchedAt = 0;
  private lastAttemptAt = 0;
  private failure: string | undefined;
  private inFlight: Promise<void> | undefined;
  private readonly logger: Logger;

  /**
   * @param locate the document's URL (for discovery anchors, found by running discovery); may throw.
   * @param parse the body as a usable value; throws (with a reason) when it is not one.
   */
  constructor(
    private readonly what: {
      readonly name: string;
      readonly kind: RemoteDocumentKind;
      readonly accept: string;
      readonly maxBytes: number;
    },
    private readonly locate: () => Promise<URL>,
    private readonly parse: (body: Buffer) => T,
    private readonly policy: RemoteDocumentPolicy,
    private readonly anchorName: string,
    private readonly now: () => number = clock.ms,
  ) {
    this.logger = new Logger(`TrustAnchor:${anchorName}`);
    policy.observer?.track(anchorName, what.kind, () =>
      this.value === undefined ? undefined : (this.now() - this.fetchedAt) / 1000,
    );
  }

  /** Why the last fetch failed (operator detail: URL, status, network error), while it is the latest. */
  get lastError(): string | undefined {
    return this.failure;
  }

  /** The copy in use now, without fetching; undefined when none is young enough. */
  get cached(): T | undefined {
    return this.usable() ? this.value : undefined;
  }

  /**
   * The copy to use now: fetched first when there is none young enough (unless an attempt was made
   * within the cooldown), refreshed in the background when older than maxAge.
   */
  async current(): Promise<T | undefined> {
    const age = this.now() - this.fetchedAt;
    if (this.value === undefined || age > (this.policy.maxAgeSec + this.policy.maxStaleSec) * 1000) {
      this.value = undefined;
      await this.refresh();
    } else if (age > this.policy.maxAgeSec * 1000) {
      void this.refresh();
    }
    return this.value;
  }

  /**
   * A newer copy than `seen` (e.g. one that lacked a key): joins a fetch under way, else fetches unless
   * within the cooldown. Resolves to the copy in use afterwards.
   */
  async newerThan(seen: T): Promise<T | undefined> {
    if (this.inFlight) await this.inFlight;
    else if (this.value === seen && !this.coolingDown()) await this.refresh();
    return this.value;
  }

  usable(): boolean {
    return (
      this.value !== undefined &&
      this.now() - this.fetchedAt <= (this.policy.maxAgeSec + this.policy.maxStaleSec) * 1000
    );
  }

  /** Fetches now, within the cooldown (startup, readiness); failures are logged, never thrown. */
  async warmUp(): Promise<void> {
    await this.refresh();
  }

  private coolingDown(): boolean {
    return this.now() - this.lastAttemptAt < this.policy.cooldownSec * 1000;
  }

  /** Runs (or joins) a fetch, unless one was attempted within the cooldown. Never rejects. */
  private refresh(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    if (this.coolingDown()) return Promise.resolve();
    this.lastAttemptAt = this.now();
    const fetched = inSpan(`fetch ${this.what.name}`, undefined, () => this.fetchOnce(), {
      'actbridge.anchor': this.anchorName,
    });
    this.inFlight = fetched
      .then((value) => {
        this.policy.observer?.fetched(this.anchorName, this.what.kind, true);
        this.value = value;
        this.fetchedAt = this.now();
        if (this.failure) this.logger.log(`${this.what.name} reachable again`);
        this.failure = undefined;
      })
      .catch((error: unknown) => {
        this.policy.observer?.fetched(this.anchorName, this.what.kind, false);
        this.failure = error instanceof Error ? error.message : String(error);
        const kept = this.value ? ` (the cached ${this.what.name} stays in use)` : '';
        this.logger.warn(`${this.what.name} fetch failed: ${this.failure}${kept}`);
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }

  private async fetchOnce(): Promise<T> {
    const url = await this.locate();
    const { timeoutMs } = this.policy;
    const response = await fetch(url, {
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      headers: { accept: this.what.accept },
    }).catch((error: unknown) => {
      throw fetchFailure(url, error, timeoutMs);
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status} from ${url.href}`);
    }
    return this.parse(await readCappedBody(response, this.what.maxBytes, timeoutMs, this.what.name));
  }
}
