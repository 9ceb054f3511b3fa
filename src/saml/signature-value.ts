import { constants, verify, type KeyObject, type VerifyKeyObjectInput } from 'node:crypto';
import { ECDSA_INTEGER_BYTES, p1363ToDer } from '../jose/ecdsa-signature.js';
import { verifyOn, type CryptoThread } from '../jose/jws-algorithms.js';

/** What is left of an XML signature once its structure, Reference and digest hold. */
export interface SignatureValueCheck {
  readonly hash: string;
  /** SignedInfo's canonical form: the signed octets. */
  readonly data: Buffer;
  /** The caller's keys of the method's kind, in the caller's order. */
  readonly keys: readonly KeyObject[];
  readonly keyType: 'rsa' | 'ec';
  /** RSASSA-PSS with MGF1 of the same hash and a salt as long as the digest (RFC 6931 §2.3.10). */
  readonly pss: boolean;
  readonly signatureValue: Buffer;
}

/**
 * Whether one of the keys verifies the signature value. On `pool` the maths runs in node:crypto's
 * callback form on libuv's thread pool, so the event loop serves other requests meanwhile (#31 in
 * docs/performance-notes.md); both forms give the same verdicts (enveloped-signature.spec.ts runs every
 * case through both).
 */
export async function signatureValueVerifies(check: SignatureValueCheck, thread: CryptoThread): Promise<boolean> {
  for (const key of check.keys) {
    const input = verifyInput(check, key);
    if (input && (await verifyOn(thread, check.hash, check.data, input.key, input.signature))) return true;
  }
  return false;
}

/** signatureValueVerifies on the calling thread. */
export function signatureValueVerifiesHere(check: SignatureValueCheck): boolean {
  for (const key of check.keys) {
    const input = verifyInput(check, key);
    if (input && verify(check.hash, check.data, input.key, input.signature)) return true;
  }
  return false;
}

/**
 * node:crypto's key and signature arguments for one key, or undefined for an ECDSA value that cannot be
 * R || S on the key's curve (it never verifies). XMLDSig ECDSA (RFC 4051 §3.3) is R || S, not DER:
 * converted here so that node:crypto gets the bare KeyObject (ecdsa-signature.ts says why); another
 * curve takes node:crypto's own decoder. RSASSA-PSS needs its padding named (it has no default).
 */
function verifyInput(
  check: SignatureValueCheck,
  key: KeyObject,
): { key: KeyObject | VerifyKeyObjectInput; signature: Buffer } | undefined {
  const signature = check.signatureValue;
  if (check.keyType === 'rsa') {
    if (!check.pss) return { key, signature };
    return {
      key: { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
      signature,
    };
  }
  const size = ECDSA_INTEGER_BYTES[key.asymmetricKeyDetails?.namedCurve ?? ''];
  if (size === undefined) return { key: { key, dsaEncoding: 'ieee-p1363' }, signature };
  const der = p1363ToDer(signature, size);
  return der === undefined ? undefined : { key, signature: der };
}
