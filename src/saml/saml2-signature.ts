import {
  EXCLUSIVE_PROFILE,
  INCLUSIVE_PROFILE,
  verifyEnvelopedSignatureOn,
  XmlSignatureRejected,
} from './enveloped-signature.js';
import { publicKeyOf } from './saml-certificates.js';
import { DEFAULT_THREAD, type CryptoThread } from '../jose/jws-algorithms.js';
import type { XmlElement } from './saml-xml.js';
import { SamlRejected, type SamlEnvelope } from './saml2-assertion.js';

/**
 * Verifies the signature of a presented assertion (RFC 7522 §3 item 9) and returns the verified
 * Assertion element, from which alone the caller reads. The assertion must be signed itself, unless the
 * anchor opted in to a signed Response around an unsigned assertion; a Response signature that is
 * present must verify too. Keys come from the anchor's certificates only, never from KeyInfo.
 *
 * Every signature is verified on the already-parsed document (saml/enveloped-signature.ts), in the one
 * profile SAML IdPs use (SAML Core §5.4); the anchor decides whether inclusive c14n (and the "with
 * comments" forms) are accepted besides exclusive c14n, never the document. The signature value's
 * maths runs on `thread`: libuv's pool in a single process, as for JWTs, so that the event loop serves
 * other requests meanwhile; the calling thread in a cluster worker (jws-algorithms.ts, CryptoThread).
 */
/** What a signature check needs of the IdP's trust anchor. */
export interface SamlSignatureSettings {
  /** The IdP's entity ID, for messages. */
  readonly entityId: string;
  /** Accept an unsigned Assertion inside a signed Response (anchor opt-in). */
  readonly allowUnsignedAssertionInSignedResponse: boolean;
  /**
   * Signature canonicalizations accepted: `exclusive` (exclusive c14n, what IdPs emit) or `inclusive`
   * (also inclusive c14n 1.0 and the "with comments" forms), always under the same signature structure.
   */
  readonly canonicalization: 'exclusive' | 'inclusive';
}

export async function verifySamlSignature(
  envelope: SamlEnvelope,
  anchor: SamlSignatureSettings,
  certificates: readonly string[],
  thread: CryptoThread = DEFAULT_THREAD,
): Promise<XmlElement> {
  const acceptUnsigned = envelope.kind === 'response' && anchor.allowUnsignedAssertionInSignedResponse;
  if (!envelope.assertionSigned && !(acceptUnsigned && envelope.responseSigned)) {
    throw new SamlRejected(
      acceptUnsigned ? 'is not signed (neither its Response nor its Assertion)' : 'Assertion is not signed',
    );
  }
  const signed = [
    ...(envelope.responseSigned ? [envelope.response!] : []),
    ...(envelope.assertionSigned ? [envelope.assertion] : []),
  ];
  const profile = anchor.canonicalization === 'inclusive' ? INCLUSIVE_PROFILE : EXCLUSIVE_PROFILE;
  const keys = certificates.map(publicKeyOf);
  try {
    for (const element of signed) await verifyEnvelopedSignatureOn(thread, element, keys, profile);
  } catch (error) {
    if (!(error instanceof XmlSignatureRejected)) throw error;
    throw error.altered
      ? new SamlRejected(
          `signature is invalid: not made with a certificate of ${anchor.entityId}, or the signed content was altered`,
          error.message,
        )
      : new SamlRejected(`signature is not in the accepted profile: ${error.message}`);
  }
  return envelope.assertion;
}
