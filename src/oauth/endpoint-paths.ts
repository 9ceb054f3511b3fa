/** Paths served by actbridge, relative to the issuer's path (see README "Endpoints"). */
export const TOKEN_ENDPOINT_PATH = '/oauth/token';
export const JWKS_PATH = '/.well-known/jwks.json';
export const OAUTH_METADATA_PATH = '/.well-known/oauth-authorization-server';
export const OIDC_METADATA_PATH = '/.well-known/openid-configuration';
export const LIVENESS_PATH = '/health/live';
export const READINESS_PATH = '/health/ready';
export const INTROSPECTION_ENDPOINT_PATH = '/oauth/introspect';
export const REVOCATION_ENDPOINT_PATH = '/oauth/revoke';
export const REVOCATION_LIST_PATH = '/oauth/revocations';
export const ADMIN_REVOCATION_PATH = '/admin/revoke';

/** The absolute URL of an endpoint: the issuer (which may have a path) followed by the endpoint path. */
export function endpointUrl(issuer: string, path: string): string {
  return issuer.replace(/\/+$/, '') + path;
}

/**
 * When the issuer has a path (`https://host/sts`), endpoints live below it (`/sts/oauth/token`), and
 * RFC 8414 §3.1 puts the metadata at `/.well-known/oauth-authorization-server/sts`. Routes are declared
 * once, without the prefix; this maps incoming URLs onto them. URLs without the prefix are left as they
 * are, so a reverse proxy that strips it works too. An absolute-form target is first cut to its path.
 */
export function issuerPathRewriter(issuer: string): (url: string) => string {
  const prefix = new URL(issuer).pathname.replace(/\/+$/, '');
  if (!prefix) return originForm;
  const wellKnown = OAUTH_METADATA_PATH + prefix;
  return (target) => {
    const url = originForm(target);
    const path = url.split('?', 1)[0]!;
    if (path === wellKnown) return OAUTH_METADATA_PATH + url.slice(wellKnown.length);
    if (path === prefix || path.startsWith(`${prefix}/`)) return url.slice(prefix.length) || '/';
    return url;
  };
}

/** `scheme://authority` of an absolute-form request target (`POST http://sts/oauth/token`). */
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

/**
 * RFC 9112 §3.2.2: a server must accept an absolute-form target, and then routes on its path and query
 * (origin-form), so the issuer path, the routes and every hook see the same URL whatever form was sent.
 */
function originForm(target: string): string {
  const authority = ABSOLUTE_FORM.exec(target);
  if (!authority) return target;
  const rest = target.slice(authority[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}
