import { Logger } from '@nestjs/common';
import * as oidc from 'openid-client';
import { BodyTooLargeError, readCappedBody } from '../common/capped-body.js';
import { IntrospectionCache } from './introspection-cache.js';
import type { SecretValue } from './secret-value.js';
import { inSpan } from '../observability/tracing.js';

/** The endpoint could not answer (unreachable, timed out, 5xx, 429): the token may be fine, retry later. */
export class IntrospectionUnavailableError extends Error {
  override readonly name = 'IntrospectionUnavailableError';
}

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
}

/** Largest accepted introspection response body. */
export const MAX_INTROSPECTION_RESPONSE_BYTES = 64 * 1024;

/**
 * RFC 7662 client for one trust anchor, through openid-client (request encoding, client
 * authentication, `active` check). The fetch underneath adds what the library leaves to its caller:
 * UPSTREAM_TIMEOUT_MS, no redirects, `application/json` only, a size cap, and the split between
 * "endpoint down" and "bad answer". Concurrent requests for one token share one call; active answers
 * are cached by token hash (IntrospectionCache). Tokens and the secret never reach a log line.
 */
export class TokenIntrospector {
  private readonly logger: Logger;
  private readonly cache: IntrospectionCache;
  private readonly inFlight = new Map<string, Promise<Readonly<Record<string, unknown>>>>();
  private config: oidc.Configuration | undefined;

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
      pending = inSpan('introspect', undefined, () => this.call(token))
        .then((answer) => {
          this.cache.set(key, answer);
          return answer;
        })
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
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
      throw new IntrospectionUnavailableError(
        name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : `unreachable (${(error as Error).message})`,
      );
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
      throw new IntrospectionUnavailableError((error as Error).message);
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
