import * as oidc from 'openid-client';
import { cappedFetch } from '../common/capped-body.js';
import { clock } from '../common/clock.js';
import { isSecureUrl } from '../config/config-validators.js';
import { rootCause } from './fetch-failure.js';

/** Largest accepted discovery document (real ones are a few KiB; a JWKS may be 512 KiB). */
export const MAX_DISCOVERY_BYTES = 256 * 1024;

/**
 * Finds an issuer's `jwks_uri` through its discovery metadata with openid-client, which also enforces
 * that the document's `issuer` equals the configured one (OIDC Discovery §4.3, RFC 8414 §3.3).
 */
export async function discoverJwksUri(issuer: string, flavour: 'oidc' | 'oauth2', timeoutMs: number): Promise<URL> {
  return jwksUriOf(await discoverServerMetadata(issuer, flavour, timeoutMs));
}

/**
 * discoverServerMetadata for one anchor, shared by its JWKS and its introspection: the first success is
 * kept; after a failure no new attempt is made within `cooldownMs` (JWKS_COOLDOWN, counted from the
 * failed attempt's start) and callers get its error at once. Opaque tokens are introspected without a key
 * cache to pace them, so a stream of them must not make actbridge hammer a failing issuer's discovery,
 * nor each wait for its timeout.
 */
export function pacedDiscovery(
  issuer: string,
  flavour: 'oidc' | 'oauth2',
  timeoutMs: number,
  cooldownMs: number,
  now: () => number = clock.ms,
): () => Promise<oidc.ServerMetadata> {
  let metadata: Promise<oidc.ServerMetadata> | undefined;
  let failed: { readonly at: number; readonly error: unknown } | undefined;
  return () => {
    if (metadata) return metadata;
    if (failed && now() - failed.at < cooldownMs) return Promise.reject(failed.error);
    const at = now();
    metadata = discoverServerMetadata(issuer, flavour, timeoutMs).catch((error: unknown) => {
      metadata = undefined;
      failed = { at, error };
      throw error;
    });
    return metadata;
  };
}

/** The whole discovery document (same checks as discoverJwksUri). */
export async function discoverServerMetadata(
  issuer: string,
  flavour: 'oidc' | 'oauth2',
  timeoutMs: number,
): Promise<oidc.ServerMetadata> {
  const issuerUrl = new URL(issuer);
  let config: oidc.Configuration;
  try {
    config = await oidc.discovery(issuerUrl, 'actbridge', undefined, undefined, {
      algorithm: flavour,
      timeout: Math.max(1, Math.ceil(timeoutMs / 1000)),
      // The anchor's issuer passed isSecureUrl at startup: plain http only ever means a loopback host.
      execute: issuerUrl.protocol === 'http:' ? [oidc.allowInsecureRequests] : [],
      // openid-client reads the whole body, however large: capped here as the JWKS and metadata are.
      [oidc.customFetch]: discoveryFetch(timeoutMs),
    });
  } catch (error) {
    // openid-client says "fetch failed" or names a check; the operator needs the URL and the root cause.
    // Operator detail (logs, audit): the discovery URL and the root cause, not openid-client's "fetch failed".
    throw new Error(`discovery at ${discoveryUrl(issuerUrl, flavour)} failed: ${rootCause(error)}`, { cause: error });
  }
  return config.serverMetadata();
}

/**
 * fetch as openid-client asks for it (its method, headers, `redirect: 'manual'` and timeout signal), with
 * the body read under MAX_DISCOVERY_BYTES: a hostile or broken issuer cannot make actbridge buffer and
 * parse an unbounded document (RFC 8414 §3.2 and OIDC Discovery §4.2 responses are small JSON objects).
 */
function discoveryFetch(timeoutMs: number): oidc.CustomFetch {
  const capped = cappedFetch(MAX_DISCOVERY_BYTES, timeoutMs, 'discovery document');
  // openid-client counts its timeout in whole seconds (1500 ms would wait 2 s): UPSTREAM_TIMEOUT_MS bounds it.
  return (url, options) =>
    capped(url, {
      ...(options as RequestInit),
      signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(options.signal ? [options.signal] : [])]),
    });
}

export function jwksUriOf(metadata: oidc.ServerMetadata): URL {
  const jwksUri = metadata.jwks_uri;
  if (!jwksUri) throw new Error('discovery metadata has no jwks_uri');
  if (!isSecureUrl(jwksUri)) throw new Error(`discovered jwks_uri ${jwksUri} is not https`);
  return new URL(jwksUri);
}

/** RFC 8414 §2 / RFC 7662 §4: `introspection_endpoint` from the metadata. */
export function introspectionEndpointOf(metadata: oidc.ServerMetadata): URL {
  const endpoint = metadata.introspection_endpoint;
  if (!endpoint) throw new Error('discovery metadata has no introspection_endpoint');
  if (!isSecureUrl(endpoint)) throw new Error(`discovered introspection_endpoint ${endpoint} is not https`);
  return new URL(endpoint);
}

/** Where each flavour looks: OIDC Discovery §4 appends to the issuer's path, RFC 8414 §3.1 inserts before it. */
function discoveryUrl(issuer: URL, flavour: 'oidc' | 'oauth2'): string {
  const path = issuer.pathname.replace(/\/$/, '');
  return flavour === 'oidc'
    ? `${issuer.origin}${path}/.well-known/openid-configuration`
    : `${issuer.origin}/.well-known/oauth-authorization-server${path}`;
}
