import { Logger } from '@nestjs/common';
import * as oidc from 'openid-client';
import { BodyTooLargeError, readCappedBody } from '../common/capped-body.js';
import { IntrospectionCache } from './introspection-cache.js';
import type { SecretValue } from './secret-value.js';
import { inSpan } from '../observability/tracing.js';
import { clock } from '../common/clock.js';

/** The endpoint could not answer (unreachable, timed out, 5xx, 429): the token may be fine, retry later. */
export class IntrospectionUnavailableError extends Error {
  override readonly name: string = 'IntrospectionUnavailableError';
  /** The endpoint did not answer within UPSTREAM_TIMEOUT_MS (counts towards a pause). */
  readonly timedOut: boolean;
  constructor(message: string, options: { timedOut?: boolean } = {}) {
    super(message);
    this.timedOut = options.timedOut ?? false;
  }
}

/** The endpoint was not called: it is not answering in time (a pause after timeouts, or too many calls waiting). */
export class IntrospectionSheddingError extends IntrospectionUnavailableError {
  override readonly name = 'IntrospectionSheddingError';
  constructor(
    message: string,
    /** Seconds after which a call may be made again, for Retry-After. */
    readonly retryAfter: number,
  ) {
    super(message);
  }
}

/** Most introspection calls waiting at once for one anchor's endpoint; the next tokens are answered 503 at once. */
export const MAX_CONCURRENT_INTROSPECTIONS = 32;
/** Consecutive timed-out calls after which the endpoint is not called for a pause. */
export const TIMEOUTS_BEFORE_PAUSE = 3;
/** How long an endpoint that keeps timing out is left alone before one call tries it again. */
export const INTROSPECTION_PAUSE_MS = 5000;

/** The endpoint answered, but not with a usable RFC 7662 response (redirect, 4xx, not JSON, too big...). */
export class IntrospectionFailedError extends Error {
  override readonly name = 'IntrospectionFailedError';
}

export interface TokenIntrospectorSettings {
  /** The anchor's name (logs) and issuer. */
  readonly name: string;
  readonly issuer: string;
  /** Resolves the endpoint: configured, or from discovery metadata; may throw. */
  readonly locate: () => Promise<URL>;
  readonly clientId: string;
  readonly secret: SecretValue;
  readonly authMethod: 'client_secret_basic' | 'client_secret_post';
  readonly cacheTtlSec: number;
  readonly requireTokenType: boolean;
  /** Per-request timeout, ms (UPSTREAM_TIMEOUT_MS). */
  readonly timeoutMs: number;
  /** The pause after TIMEOUTS_BEFORE_PAUSE timeouts in a row, ms (default INTROSPECTION_PAUSE_MS). */
  readonly pauseMs?: number;
}

/** Largest accepted introspection response body. */
export const MAX_INTROSPECTION_RESPONSE_BYTES = 64 * 1024;

/**
 * RFC 7662 client for one trust anchor, through openid-client (request encoding, client
 * authentication, `active` check). The fetch underneath adds what the library leaves to its caller:
 * UPSTREAM_TIMEOUT_MS, no redirects, `application/json` only, a size cap, and the split between
 * "endpoint down" and "bad answer". Concurrent requests for one token share one call; active answers
 * are cached by token hash (IntrospectionCache). Tokens and the secret never reach a log line.
 * A hung endpoint would hold every exchange of an opaque token (and its socket) for UPSTREAM_TIMEOUT_MS:
 * at most MAX_CONCURRENT_INTROSPECTIONS calls wait at once, and after TIMEOUTS_BEFORE_PAUSE timeouts in
 * a row the endpoint is left alone for a pause, then tried by one call at a time until it answers.
 * Either way the token is refused (503), never accepted unconfirmed.
 */
export class TokenIntrospector {
  private readonly logger: Logger;
  private readonly cache: IntrospectionCache;
  private readonly inFlight = new Map<string, Promise<Readonly<Record<string, unknown>>>>();
  private config: oidc.Configuration | undefined;
  /** Calls to the endpoint in flight. */
  private calls = 0;
  /** Calls in a row that timed out. */
  private timeouts = 0;
  /** While paused (`timeouts` ≥ TIMEOUTS_BEFORE_PAUSE), when a call may try the endpoint again (clock ms). */
  private pausedUntil = 0;
  /** A call is trying a paused endpoint: the others wait for its outcome, not the timeout. */
  private probing = false;

  constructor(readonly settings: TokenIntrospectorSettings) {
    this.logger = new Logger(`TrustAnchor:${settings.name}`);
    this.cache = new IntrospectionCache(settings.cacheTtlSec);
  }

  get requireTokenType(): boolean {
    return this.settings.requireTokenType;
  }

  /** The endpoint's answer (`active` is a boolean); throws IntrospectionUnavailable/FailedError. */
  async introspect(token: string): Promise<Readonly<Record<string, unknown>>> {
    const key = IntrospectionCache.keyOf(token);
    const cached = this.cache.get(key);
    if (cached) return cached;
    let pending = this.inFlight.get(key);
    if (!pending) {
      const probe = this.admit();
      this.calls++;
      pending = inSpan('introspect', undefined, () => this.call(token))
        .then(
          (answer) => {
            this.timeouts = 0;
            return answer;
          },
          (error: unknown) => {
            this.settled(error);
            throw error;
          },
        )
        .finally(() => {
          this.calls--;
          if (probe) this.probing = false;
        })
        .then((answer) => {
          this.cache.set(key, answer);
          return answer;
        })
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  /**
   * Whether the endpoint may be called now (true: this call is the one trying a paused endpoint); throws
   * IntrospectionSheddingError when it may not.
   */
  private admit(): boolean {
    if (this.calls >= MAX_CONCURRENT_INTROSPECTIONS) {
      throw new IntrospectionSheddingError(
        `not called: ${MAX_CONCURRENT_INTROSPECTIONS} introspection calls are already waiting for the endpoint`,
        Math.max(1, Math.ceil(this.settings.timeoutMs / 1000)),
      );
    }
    if (this.timeouts < TIMEOUTS_BEFORE_PAUSE) return false;
    const wait = this.pausedUntil - clock.ms();
    if (wait > 0 || this.probing) {
      throw new IntrospectionSheddingError(
        `not called: the endpoint timed out ${this.timeouts} times in a row; ${
          this.probing ? 'one call is trying it again' : `next try in ${Math.ceil(wait / 1000)} s`
        }`,
        Math.max(1, Math.ceil((this.probing ? this.settings.timeoutMs : wait) / 1000)),
      );
    }
    this.probing = true;
    return true;
  }

  /** Counts a failed call: timeouts in a row pause the endpoint; any answer, even an error, resets them. */
  private settled(error: unknown): void {
    if (!(error instanceof IntrospectionUnavailableError && error.timedOut)) {
      this.timeouts = 0;
      return;
    }
    this.timeouts++;
    if (this.timeouts < TIMEOUTS_BEFORE_PAUSE) return;
    const pauseMs = this.settings.pauseMs ?? INTROSPECTION_PAUSE_MS;
    this.pausedUntil = clock.ms() + pauseMs;
    this.logger.warn(`introspection endpoint timed out ${this.timeouts} times in a row: not called for ${pauseMs} ms`);
  }

  private async call(token: string): Promise<Readonly<Record<string, unknown>>> {
    const config = await this.configuration();
    try {
      // RFC 7662 §2.1: token_type_hint is only a hint; the answer's token_type is checked by the caller.
      return (await oidc.tokenIntrospection(config, token, { token_type_hint: 'access_token' })) as Record<
        string,
        unknown
      >;
    } catch (error) {
      const own = findCause(error);
      const failure =
        own ?? new IntrospectionFailedError(`invalid introspection response (${(error as Error).message})`);
      this.logger.warn(`introspection failed: ${failure.message}`);
      throw failure;
    }
  }

  private async configuration(): Promise<oidc.Configuration> {
    if (this.config) return this.config;
    let endpoint: URL;
    try {
      endpoint = await this.settings.locate();
    } catch (error) {
      const message = `introspection endpoint unknown: ${(error as Error).message}`;
      this.logger.warn(message);
      throw new IntrospectionUnavailableError(message);
    }
    const { clientId, secret, authMethod } = this.settings;
    const auth =
      authMethod === 'client_secret_post'
        ? oidc.ClientSecretPost(secret.reveal())
        : oidc.ClientSecretBasic(secret.reveal());
    const config = new oidc.Configuration(
      { issuer: this.settings.issuer, introspection_endpoint: endpoint.href },
      clientId,
      undefined,
      auth,
    );
    // The endpoint passed isSecureUrl (configured, or checked after discovery): http means loopback.
    if (endpoint.protocol === 'http:') oidc.allowInsecureRequests(config);
    config[oidc.customFetch] = (url, options) => this.guardedFetch(url, options);
    this.config = config;
    return config;
  }

  private async guardedFetch(url: string, options: oidc.CustomFetchOptions): Promise<Response> {
    const { timeoutMs } = this.settings;
    let response: Response;
    try {
      response = await fetch(url, {
        method: options.method,
        headers: options.headers,
        body: options.body as RequestInit['body'],
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const name = (error as Error).name;
      throw name === 'TimeoutError'
        ? new IntrospectionUnavailableError(`timed out after ${timeoutMs} ms`, { timedOut: true })
        : new IntrospectionUnavailableError(`unreachable (${(error as Error).message})`);
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      const what = `HTTP ${response.status} from the introspection endpoint`;
      if (response.status >= 500 || response.status === 429) throw new IntrospectionUnavailableError(what);
      if (response.status >= 300 && response.status < 400) {
        throw new IntrospectionFailedError(`${what} (redirects are not followed)`);
      }
      throw new IntrospectionFailedError(
        response.status === 401 || response.status === 403
          ? `${what} (are the introspection credentials right?)`
          : what,
      );
    }
    const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      await response.body?.cancel().catch(() => undefined);
      throw new IntrospectionFailedError(`introspection response is ${type || 'untyped'}, not application/json`);
    }
    let body: Buffer;
    try {
      body = await readCappedBody(response, MAX_INTROSPECTION_RESPONSE_BYTES, timeoutMs, 'introspection response');
    } catch (error) {
      // Too large is a bad answer (invalid_request); a stalled or cut read may be transient (503).
      if (error instanceof BodyTooLargeError) throw new IntrospectionFailedError(error.message);
      const message = (error as Error).message;
      throw new IntrospectionUnavailableError(message, { timedOut: message.startsWith('timed out') });
    }
    return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
  }
}

function findCause(error: unknown): IntrospectionUnavailableError | IntrospectionFailedError | undefined {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (e instanceof IntrospectionUnavailableError || e instanceof IntrospectionFailedError) return e;
  }
  return undefined;
}
