import {
  decodeProtectedHeader,
  errors,
  jwtVerify,
  UnsecuredJWT,
  type JWTHeaderParameters,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  type JWTVerifyResult,
  type ProtectedHeaderParameters,
} from 'jose';
import { clock } from '../common/clock.js';
import { jwsVerifier } from './jws-algorithms.js';
import type { VerifiedSignatures } from './verified-signatures.js';

const SEGMENT = /^[A-Za-z0-9_-]+$/;
const NONE_HEADER = Buffer.from('{"alg":"none"}').toString('base64url');
/** jose's decoder for JOSE headers: invalid UTF-8 is an error, not replaced. */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * jose's `jwtVerify` with a key resolver, with the signature checked by node:crypto's one-shot verify
 * (jws-algorithms.ts) instead of WebCrypto. Everything else is jose's own code, run on the same input:
 * the key is chosen by the same resolver from the real header, the algorithm allowlist is applied first,
 * and the claims (`exp`, `nbf`, `iat`, `iss`, `sub`, `aud`, required claims, max age) are validated by
 * jose's claim-set validation (UnsecuredJWT.decode over the verified payload segment, unchanged).
 * Anything off the common path — a `crit` or `b64` header, an algorithm or key this module does not
 * handle, a malformed segment — is handed to `jwtVerify` whole, so its errors and rules apply.
 */
export async function verifyJwt(
  jwt: string,
  keys: JWTVerifyGetKey,
  verifyOptions: JWTVerifyOptions & { algorithms: string[] },
  /** The header of this very `jwt` as decodeJoseHeader returned it, when the caller has it already. */
  decodedHeader?: ProtectedHeaderParameters,
  /** Signatures verified before: a token verified with the same key object is not verified again. */
  memo?: VerifiedSignatures,
): Promise<JWTVerifyResult & { key: unknown }> {
  // Time claims are judged against the one clock (the policy tools replay "as of" a moment).
  const options = { currentDate: clock.date(), ...verifyOptions };
  const jose = () => jwtVerify(jwt, keys, options);
  const parts = jwt.split('.');
  if (parts.length !== 3 || !parts.every((part) => SEGMENT.test(part))) return jose();
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
  const decoded = decodedHeader ?? decodeHeaderSegment(encodedHeader);
  if (decoded === undefined) return jose();
  // RFC 7515 §4.1.11 extensions and RFC 7797 unencoded payloads: jose's rules, unchanged.
  if ('crit' in decoded || 'b64' in decoded || typeof decoded.alg !== 'string' || decoded.alg === '') return jose();
  const header = decoded as JWTHeaderParameters;
  if (!options.algorithms.includes(header.alg)) {
    throw new errors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
  }
  const key = await keys(header, { payload: encodedPayload, protected: encodedHeader, signature: encodedSignature });
  const verifier = jwsVerifier(header.alg, key);
  if (!verifier) return jose();

  // Only after the allowlist and the key chosen from the anchor's set: a hit is this key's own verdict.
  const id = memo?.idOf(jwt);
  if (id === undefined || !memo!.verified(id, key as object)) {
    let valid: boolean;
    try {
      valid = await verifier(`${encodedHeader}.${encodedPayload}`, Buffer.from(encodedSignature, 'base64url'));
    } catch (cause) {
      throw new errors.JWSSignatureVerificationFailed(undefined, { cause });
    }
    if (!valid) throw new errors.JWSSignatureVerificationFailed();
    if (id !== undefined) memo!.remember(id, key as object);
  }

  const claimsHeader =
    options.typ === undefined
      ? NONE_HEADER
      : Buffer.from(JSON.stringify({ alg: 'none', typ: header.typ })).toString('base64url');
  const { payload } = UnsecuredJWT.decode(`${claimsHeader}.${encodedPayload}.`, options);
  return { payload, protectedHeader: header, key };
}

/**
 * A JOSE token's protected header (its first segment), with the answers of jose's
 * `decodeProtectedHeader`: undefined where that throws. Decoded once per token and passed on, so the
 * checks that read the header and the verification read the same object.
 */
export function decodeJoseHeader(token: string): ProtectedHeaderParameters | undefined {
  const parts = token.split('.');
  // A JWS has three segments, a JWE five; jose reads no header from anything else.
  if (parts.length !== 3 && parts.length !== 5) return undefined;
  if (SEGMENT.test(parts[0]!)) return decodeHeaderSegment(parts[0]!);
  // Outside base64url's alphabet jose's decoder has rules of its own (it tolerates `+`, `/`, spaces).
  try {
    return decodeProtectedHeader(token);
  } catch {
    return undefined;
  }
}

/**
 * The header segment as jose's `decodeProtectedHeader` reads it (strict UTF-8, JSON, a plain object), or
 * undefined where that throws; with Buffer's base64url decoder instead of jose's atob loop (half the
 * cost). The segment has passed SEGMENT; a length of 4n+1 encodes nothing, which atob refuses and Buffer
 * would silently truncate, so it is refused here too.
 */
function decodeHeaderSegment(segment: string): ProtectedHeaderParameters | undefined {
  if (segment.length % 4 === 1) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(STRICT_UTF8.decode(Buffer.from(segment, 'base64url')));
  } catch {
    return undefined;
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
    ? (parsed as ProtectedHeaderParameters)
    : undefined;
}
