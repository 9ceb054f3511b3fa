import { AccessTokenError, authenticateChallenge, type ChallengeOptions } from './access-token-error.js';
import type { ActbridgeVerifier, VerifiedAccessToken, VerifyOptions } from './actbridge-verifier.js';

/** Options of the Fastify hook and the Nest guard. */
export interface ResourceGuardOptions extends Omit<VerifyOptions, 'scheme' | 'dpop'> {
  /**
   * The public base URL of this resource (e.g. `https://api.example.com`), used to rebuild the URL a
   * DPoP proof's `htu` must match. Set it behind a proxy; by default the request's protocol and Host
   * header are used.
   */
  readonly publicUrl?: string;
  /** RFC 9728: URL of this resource's Protected Resource Metadata, advertised in `WWW-Authenticate`. */
  readonly resourceMetadata?: string;
  readonly realm?: string;
}

/** The parts of an incoming HTTP request (Fastify or Express, through Nest or not) the check needs. */
export interface RequestLike {
  readonly method: string;
  readonly url: string;
  readonly originalUrl?: string;
  readonly protocol?: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly headersDistinct?: Readonly<Record<string, string[] | undefined>>;
  readonly raw?: { readonly headersDistinct?: Readonly<Record<string, string[] | undefined>> };
}

export type GuardOutcome = (
  | { readonly ok: true; readonly token: VerifiedAccessToken }
  | {
      readonly ok: false;
      readonly status: number;
      readonly challenge: string;
      readonly body: { error: string; error_description: string } | undefined;
      /** Why actbridge could not be heard, for this server's log (never sent to the caller). */
      readonly detail?: string;
    }
) & {
  /** With the verifier's `dpopNonce`: the `DPoP-Nonce` header of the answer, whatever it is (RFC 9449 §9). */
  readonly dpopNonce?: string;
};

/**
 * Refuses, when the hook or guard is created, a `publicUrl` no request could be checked against: one that
 * is not an absolute http(s) URL would fail every request (500, Bearer ones too), or match no `htu`.
 */
export function checkGuardOptions(options: ResourceGuardOptions): void {
  const { publicUrl } = options;
  if (publicUrl === undefined) return;
  const url = typeof publicUrl === 'string' && URL.canParse(publicUrl) ? new URL(publicUrl) : undefined;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password) {
    throw new TypeError('actbridge verify: publicUrl must be an absolute http(s) URL, e.g. https://api.example.com');
  }
}

// RFC 9110 §11.4: the scheme, then 1*SP; a tab there is a malformed credential of that scheme, not another one.
const SUPPORTED_SCHEME = /^(Bearer|DPoP)([ \t]|$)/i;
const AUTHORIZATION = /^(Bearer|DPoP)[ ]+([A-Za-z0-9\-._~+/]+=*)[ ]*$/i;

/**
 * Reads the access token from the Authorization header (RFC 6750 §2.1, RFC 9449 §7.1), gathers the DPoP
 * evidence, verifies, and says what to answer: the verified token, or status + challenge + body.
 */
export async function checkResourceRequest(
  verifier: ActbridgeVerifier,
  request: RequestLike,
  options: ResourceGuardOptions,
): Promise<GuardOutcome> {
  const outcome = await checkRequest(verifier, request, options);
  const dpopNonce = verifier.currentDpopNonce();
  return dpopNonce === undefined ? outcome : { ...outcome, dpopNonce };
}

async function checkRequest(
  verifier: ActbridgeVerifier,
  request: RequestLike,
  options: ResourceGuardOptions,
): Promise<GuardOutcome> {
  const challengeOptions: ChallengeOptions = {
    realm: options.realm,
    resourceMetadata: options.resourceMetadata,
    dpopAlgorithms: verifier.dpopAlgorithms,
  };
  const authorization = single(request.headers.authorization);
  // Node keeps only the first of repeated Authorization fields in `headers`; headersDistinct has them all.
  const authorizations = request.raw?.headersDistinct?.authorization ?? request.headersDistinct?.authorization;
  const repeated = authorizations !== undefined && authorizations.length > 1;
  // RFC 6750 §2.3: a token in the URL leaks into logs and Referer, and §2 forbids a second method beside the
  // header (which of the two would this check and the application each read?): refused, never read.
  if (queryHasAccessToken(request.originalUrl ?? request.url)) {
    const error = new AccessTokenError(
      'invalid_request',
      'access tokens are not accepted in the URL; send the token in the Authorization header',
    );
    return { ok: false, status: error.status, challenge: error.challenge(challengeOptions), body: error.toJSON() };
  }
  // RFC 6750 §3.1: no credentials at all, or credentials of another scheme (Basic, ...), is answered with a
  // bare challenge, no error code.
  if (authorization === undefined || (!repeated && !SUPPORTED_SCHEME.test(authorization))) {
    return { ok: false, status: 401, challenge: authenticateChallenge(challengeOptions), body: undefined };
  }
  const match = AUTHORIZATION.exec(authorization);
  const dpopProofs =
    request.raw?.headersDistinct?.dpop ?? request.headersDistinct?.dpop ?? asList(request.headers.dpop);
  try {
    // RFC 9110 §11.6.2 / RFC 6750 §3.1: Authorization is a singleton field; two of them (two credentials,
    // of which a proxy and this check might each read another) are a malformed request.
    if (repeated) throw new AccessTokenError('invalid_request', 'send exactly one Authorization header');
    if (!match)
      throw new AccessTokenError('invalid_request', "Authorization must be 'Bearer <token>' or 'DPoP <token>'");
    const token = await verifier.verify(match[2]!, {
      audience: options.audience,
      scopes: options.scopes,
      acrValues: options.acrValues,
      maxAge: options.maxAge,
      checkRevocation: options.checkRevocation,
      dpopBoundRequired: options.dpopBoundRequired,
      scheme: match[1],
      dpop: { proof: dpopProofs, method: request.method, url: requestUrl(request, options.publicUrl) },
    });
    return { ok: true, token };
  } catch (error) {
    if (!(error instanceof AccessTokenError)) throw error;
    const dpop = match?.[1]?.toLowerCase() === 'dpop' || error.error === 'invalid_dpop_proof';
    return {
      ok: false,
      status: error.status,
      challenge: error.challenge({ ...challengeOptions, dpop }),
      body: error.toJSON(),
      ...(error.detail === undefined ? {} : { detail: error.detail }),
    };
  }
}

/** An absolute-form request-target (RFC 9112 §3.2.2): `GET https://host/path HTTP/1.1`. */
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/**
 * The URL the proof's `htu` must match (RFC 9449 §4.3 check 9): this resource's origin (`publicUrl`, else
 * the request's protocol and Host) followed by the path of the request-target. Only the path is taken
 * from the target: an absolute-form target (`GET https://other.example/tools`, which Fastify routes to
 * `/tools`) or a `//other.example/tools` path must not name another origin, or a proof made for another
 * server would pass here.
 */
function requestUrl(request: RequestLike, publicUrl: string | undefined): string {
  const target = request.originalUrl ?? request.url;
  const origin = publicUrl === undefined ? requestOrigin(request) : new URL(publicUrl).origin;
  if (!ABSOLUTE_FORM.test(target)) return `${origin}${target}`;
  try {
    const url = new URL(target);
    return `${origin}${url.pathname}${url.search}`;
  } catch {
    return target; // not a URL: no htu matches it
  }
}

/** RFC 9112 §3.2 / RFC 3986 §3.2.2: `uri-host [":" port]`, a reg-name or an IP literal; no path, query, fragment or userinfo. */
const HOST = /^(?:\[[A-Za-z0-9._~!$&'()*+,;=:-]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(?::[0-9]*)?$/;

/**
 * This resource's origin as the request names it (protocol and Host header). RFC 9112 §3.2: a Host with
 * an invalid value is a 400; here it would also move the htu: `Host: api/tools#` on `GET /admin` gives
 * `http://api/tools#/admin`, whose htu is `http://api/tools`, so a proof made for /tools would pass at /admin.
 */
function requestOrigin(request: RequestLike): string {
  const protocol = request.protocol ?? 'http';
  const host = single(request.headers.host) ?? 'localhost';
  // Fastify and Express take the protocol from X-Forwarded-Proto behind a trusted proxy.
  if (!/^https?$/i.test(protocol))
    throw new AccessTokenError('invalid_request', 'request protocol must be http or https');
  if (!HOST.test(host))
    throw new AccessTokenError('invalid_request', 'Host header must be a host and an optional port');
  return `${protocol}://${host}`;
}

function queryHasAccessToken(target: string): boolean {
  const start = target.indexOf('?');
  if (start < 0) return false;
  const end = target.indexOf('#', start);
  return new URLSearchParams(target.slice(start + 1, end < 0 ? undefined : end)).has('access_token');
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function asList(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}
