import { createHash } from 'node:crypto';
import {
  calculateJwkThumbprint,
  decodeJwt,
  decodeProtectedHeader,
  EmbeddedJWK,
  errors,
  jwtVerify,
  type JWK,
  type JWTPayload,
  type ProtectedHeaderParameters,
} from 'jose';
import { clock } from '../common/clock.js';
import { quoted } from '../oauth/error-description.js';

/**
 * RFC 9449 DPoP proof verification, shared by the token endpoint and the resource-server verify helper
 * (`actbridge/verify`). Pure: no Nest, no store; single use of `jti` and server nonces are the
 * caller's business, since they differ between an authorization server and a resource server.
 */

/** Asymmetric JWS algorithms accepted for DPoP proofs (RFC 9449 §4.3 check 5: not `none`, not a MAC). */
export const DPOP_SIGNING_ALGORITHMS = [
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
  'RS256',
  'RS384',
  'RS512',
  'EdDSA',
  'Ed25519',
] as const;

/** JWK members that only a private (or symmetric) key has (RFC 7517, RFC 7518 §6). */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export interface DpopProofExpectations {
  /** The HTTP method of the request the proof came with (`htm`). */
  readonly method: string;
  /** The URL the request was sent to, as the client sees it (`htu`); query and fragment are ignored. */
  readonly url: string;
  /** Accepted `alg` values (default: DPOP_SIGNING_ALGORITHMS). */
  readonly algorithms?: readonly string[];
  /** Oldest accepted `iat`, seconds before now. */
  readonly maxAge: number;
  /** How far in the future `iat` may be, seconds. */
  readonly clockSkew: number;
  /** At a resource server: the access token the proof must be bound to (`ath`, RFC 9449 §4.3 check 12). */
  readonly accessToken?: string;
  /** Epoch seconds (tests). */
  readonly now?: number;
}

/** A proof that passed every check: the RFC 7638 thumbprint of its key, and what a caller still checks. */
export interface VerifiedDpopProof {
  /** base64url SHA-256 JWK thumbprint of the proof's public key: the `cnf.jkt` it binds to. */
  readonly jkt: string;
  readonly jti: string;
  readonly iat: number;
  readonly nonce: string | undefined;
}

/** What a grant learns from a verified proof at the token endpoint: the key the issued token binds to. */
export interface DpopBinding {
  readonly jkt: string;
}

/** A failed check; `message` says which, in words fit for an `error_description`. */
export class DpopProofError extends Error {
  override readonly name = 'DpopProofError';
}

/** RFC 3986 §2.3: the unreserved characters, which percent-encoding never changes the meaning of. */
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * RFC 3986 §6.2.2.1 and §6.2.2.2 on a path: percent-encodings in upper case, and those of unreserved
 * characters decoded (`%7e` and `%7E` are `~`, `%74oken` is `token`). The WHATWG URL parser does neither.
 */
function normalisePercentEncoding(path: string): string {
  return path.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}

/**
 * RFC 9449 §9.2/§4.3 check 9: compare `htu` to the request URL after syntax- and scheme-based
 * normalisation (RFC 3986 §6.2.2, §6.2.3; WHATWG URL for lower-case scheme and host, default port
 * dropped, empty path as `/`, dot segments resolved; then percent-encoding case and unreserved
 * characters), ignoring query and fragment. Undefined when `value` is not an absolute http(s) URL,
 * or has userinfo.
 */
export function normaliseHtu(value: string): string | undefined {
  // RFC 3986 has no white space or control character in a URI; the URL parser would drop them.
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(value)) return undefined;
  // Nor a backslash, which the URL parser reads as '/' before the query (`https://sts\oauth\token`).
  if (/^[^?#]*\\/.test(value)) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  // RFC 9110 §4.2.4: userinfo in an http(s) URI is an error (`https://evil@sts/...` names the STS).
  if (url.username !== '' || url.password !== '') return undefined;
  url.search = '';
  url.hash = '';
  return `${url.origin}${normalisePercentEncoding(url.pathname)}`;
}

/** base64url(SHA-256(access token)), the `ath` of a proof sent to a resource (RFC 9449 §4.2). */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url');
}

/** RFC 9449 §4.3 checks 4, 5 and 7, and RFC 7515 §4.1.11's crit, on a proof's header; returns its jwk. */
function checkProofHeader(
  header: ProtectedHeaderParameters,
  algorithms: readonly string[],
  fail: (message: string) => never,
): JWK {
  // Check 4: typ (RFC 7515 §4.1.9: case-insensitive, `application/` optional).
  const typ = typeof header.typ === 'string' ? header.typ.toLowerCase().replace(/^application\//, '') : undefined;
  if (typ !== 'dpop+jwt') fail('typ must be dpop+jwt');
  // Check 5: an asymmetric algorithm from the allowlist (an unknown one echoed in part only).
  if (typeof header.alg !== 'string' || !algorithms.includes(header.alg)) {
    const alg = typeof header.alg === 'string' ? header.alg.slice(0, 32) : (header.alg ?? null);
    fail(`alg ${quoted(alg)} is not accepted; use one of ${algorithms.join(', ')}`);
  }
  // RFC 7515 §4.1.11: a proof marking an extension critical must be refused unless it is understood;
  // RFC 9449 defines none, and actbridge understands none.
  if (header.crit !== undefined) fail('crit header parameter names an extension actbridge does not support');
  // Check 7: the header's jwk is a public key, with no private members.
  const jwk = header.jwk as Record<string, unknown> | undefined;
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return fail('has no jwk header');
  if (jwk.kty === 'oct' || PRIVATE_JWK_MEMBERS.some((member) => member in jwk)) {
    fail('jwk header must be a public key (it holds private key material)');
  }
  return jwk as JWK;
}

/** Runs RFC 9449 §4.3 checks 2-9, 11 and 12 on one proof; throws DpopProofError naming the first failure. */
export async function verifyDpopProof(proof: string, expect: DpopProofExpectations): Promise<VerifiedDpopProof> {
  const fail = (message: string): never => {
    throw new DpopProofError(message);
  };
  const algorithms = expect.algorithms ?? DPOP_SIGNING_ALGORITHMS;

  // §4.3 check 2: a single well-formed JWT (signed, compact serialisation).
  if (!COMPACT_JWS.test(proof)) fail('is not a well-formed JWT');
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(proof);
    decodeJwt(proof);
  } catch {
    return fail('is not a well-formed JWT');
  }
  const jwk = checkProofHeader(header, algorithms, fail);

  // Check 6: the signature verifies with that key.
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(proof, EmbeddedJWK, {
      algorithms: [...algorithms],
      typ: 'dpop+jwt',
      currentDate: expect.now === undefined ? clock.date() : new Date(expect.now * 1000),
    }));
  } catch (error) {
    if (error instanceof errors.JWSSignatureVerificationFailed) return fail('signature is invalid');
    if (error instanceof errors.JWTExpired) return fail('has expired (exp)');
    if (error instanceof errors.JWTClaimValidationFailed) return fail(`${error.claim} claim is invalid`);
    return fail('jwk header is not a usable public key for its alg');
  }

  // Check 3: the required claims.
  const { jti, htm, htu, iat, ath, nonce } = claims as Record<string, unknown>;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) fail('jti claim is missing or invalid');
  if (typeof htm !== 'string') fail('htm claim is missing');
  if (typeof htu !== 'string') fail('htu claim is missing');
  if (typeof iat !== 'number' || !Number.isFinite(iat)) fail('iat claim is missing');
  if (nonce !== undefined && typeof nonce !== 'string') fail('nonce claim must be a string');

  // Check 8: htm is the request's method (methods are case-sensitive, RFC 9110 §9.1).
  if (htm !== expect.method) fail(`htm must be ${expect.method}`);
  // Check 9: htu is the request's URL, normalised, without query and fragment.
  const expectedHtu = normaliseHtu(expect.url);
  if (expectedHtu === undefined || normaliseHtu(htu as string) !== expectedHtu) {
    fail(`htu must be ${expectedHtu ?? expect.url}`);
  }
  // Check 11: iat within the acceptance window.
  const now = expect.now ?? clock.seconds();
  if ((iat as number) > now + expect.clockSkew) fail('iat is in the future');
  if ((iat as number) < now - expect.maxAge - expect.clockSkew) fail(`iat is older than ${expect.maxAge} s`);
  // Check 12 (resource servers): ath binds the proof to the access token it accompanies.
  if (expect.accessToken !== undefined && ath !== accessTokenHash(expect.accessToken)) {
    fail(ath === undefined ? 'ath claim is missing' : 'ath does not match the access token');
  }

  return {
    jkt: await calculateJwkThumbprint(jwk, 'sha256'),
    jti: jti as string,
    iat: iat as number,
    nonce: nonce as string | undefined,
  };
}
