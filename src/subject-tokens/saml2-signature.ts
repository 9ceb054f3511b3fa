import { SAML, ValidateInResponseTo, type Profile } from '@node-saml/node-saml';
import { getVerifiedXml, parseDomFromString } from '@node-saml/node-saml/lib/xml.js';
import { inFastProfile, verifyEnvelopedSignature, XmlSignatureRejected } from '../saml/enveloped-signature.js';
import { publicKeyOf } from '../saml/saml-certificates.js';
import { parseStrictXml, type XmlElement } from '../saml/saml-xml.js';
import type { SamlAnchor } from '../trust-anchors/saml-anchor.js';
import { SamlRejected, type SamlEnvelope } from './saml2-assertion.js';

export interface SignatureCheckOptions {
  readonly anchor: SamlAnchor;
  readonly certificates: readonly string[];
  readonly spEntityId: string;
  readonly tokenEndpoint: string;
}

/**
 * node-saml's processing of a samlp:Response, extended to a bare Assertion by the same steps its
 * Response path takes for the assertion inside: exactly one enveloped signature referencing the
 * element by a unique ID, verified with the given certificates only (never a KeyInfo certificate),
 * then its Conditions timestamps. What comes back is only the XML the signature covered.
 */
class AssertionSaml extends SAML {
  async validateAssertionAsync(xml: string): Promise<Profile> {
    const doc = await parseDomFromString(xml);
    const verified = getVerifiedXml(xml, doc.documentElement, await this.getKeyInfosAsPem());
    if (!verified) throw new Error('Invalid signature');
    const { profile } = await this.processValidlySignedAssertionAsync(verified, xml, null);
    return profile;
  }
}

/**
 * Verifies the signature of a presented assertion (RFC 7522 §3 item 9) and returns the verified
 * Assertion element, from which alone the caller reads. The assertion must be signed itself, unless the
 * anchor opted in to a signed Response around an unsigned assertion; a Response signature that is
 * present must verify too. Keys come from the anchor's certificates only, never from KeyInfo.
 *
 * Signatures in the profile every SAML IdP uses (enveloped, exclusive c14n, SHA-2) are verified on the
 * already-parsed document (saml/enveloped-signature.ts); others (inclusive c14n, c14n with comments)
 * go through node-saml, whose verified XML is parsed again and read instead.
 */
export async function verifySamlSignature(
  xml: string,
  envelope: SamlEnvelope,
  options: SignatureCheckOptions,
): Promise<XmlElement> {
  const { anchor } = options;
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
  if (signed.every(inFastProfile)) {
    const keys = options.certificates.map(publicKeyOf);
    try {
      for (const element of signed) verifyEnvelopedSignature(element, keys);
    } catch (error) {
      if (!(error instanceof XmlSignatureRejected)) throw error;
      throw error.altered
        ? new SamlRejected(invalidSignature(anchor), error.message)
        : new SamlRejected(`signature is not in the accepted profile: ${error.message}`);
    }
    return envelope.assertion;
  }
  const verifiedXml = await verifyWithNodeSaml(xml, envelope, options, acceptUnsigned);
  return parseStrictXml(verifiedXml).documentElement;
}

async function verifyWithNodeSaml(
  xml: string,
  envelope: SamlEnvelope,
  options: SignatureCheckOptions,
  acceptUnsigned: boolean,
): Promise<string> {
  const { anchor } = options;
  const saml = new AssertionSaml({
    idpCert: [...options.certificates],
    idpIssuer: anchor.entityId,
    issuer: options.spEntityId,
    callbackUrl: options.tokenEndpoint,
    // Audience, Recipient and the rest of RFC 7522 §3 are checked by the caller on the verified XML:
    // actbridge answers to several names (SP entity ID, issuer, token endpoint URL).
    audience: false,
    wantAssertionsSigned: !acceptUnsigned,
    wantAuthnResponseSigned: envelope.responseSigned,
    acceptedClockSkewMs: anchor.clockSkew * 1000,
    validateInResponseTo: ValidateInResponseTo.never,
  });
  let profile: Profile | null;
  try {
    profile =
      envelope.kind === 'assertion'
        ? await saml.validateAssertionAsync(xml)
        : (await saml.validatePostResponseAsync({ SAMLResponse: Buffer.from(xml, 'utf8').toString('base64') })).profile;
  } catch (error) {
    throw describe(error, anchor);
  }
  const verified = profile?.getAssertionXml?.();
  if (!verified) throw new SamlRejected('could not be verified', 'node-saml returned no assertion');
  return verified;
}

function invalidSignature(anchor: SamlAnchor): string {
  return `signature is invalid: not made with a certificate of ${anchor.entityId}, or the signed content was altered`;
}

function describe(error: unknown, anchor: SamlAnchor): SamlRejected {
  const message = error instanceof Error ? error.message : String(error);
  if (/expired/i.test(message)) return new SamlRejected('has expired (NotOnOrAfter)', message);
  if (/not yet valid/i.test(message)) return new SamlRejected('is not yet valid (NotBefore)', message);
  if (/multiple assertions/i.test(message)) return new SamlRejected('must carry exactly one Assertion', message);
  if (/^Error parsing/.test(message)) {
    return new SamlRejected('has a missing or malformed NotOnOrAfter/NotBefore/IssueInstant', message);
  }
  if (/signature|signed|reference/i.test(message)) return new SamlRejected(invalidSignature(anchor), message);
  return new SamlRejected('could not be verified', message);
}
