/** A trusted SAML 2.0 IdP, ready to verify assertions. Built from a `kind: saml` trust-anchor file. */
export interface SamlAnchor {
  readonly name: string;
  /** The IdP's entity ID: the assertion's `<Issuer>`, compared exactly (RFC 7522 §3 item 1). */
  readonly entityId: string;
  readonly clockSkew: number;
  readonly developmentOnly: boolean;
  /** Accept an unsigned Assertion inside a signed Response (anchor opt-in). */
  readonly allowUnsignedAssertionInSignedResponse: boolean;
  /**
   * Signature canonicalizations accepted: `exclusive` (exclusive c14n, what IdPs emit) or `inclusive`
   * (also inclusive c14n 1.0 and the "with comments" forms), always under the same signature structure.
   */
  readonly canonicalization: 'exclusive' | 'inclusive';
  /** Longest accepted time from now to NotOnOrAfter, seconds. */
  readonly maxAssertionLifetime: number;
  /** Attribute Name → the friendly name it is renamed to in the token's claims. */
  readonly attributeRenames: ReadonlyMap<string, string>;
  /** The IdP's signing certificates (PEM), from the anchor only; throws KeysUnavailableError if unknown. */
  certificates(): Promise<readonly string[]>;
  /** Whether assertions can be verified now: configured certificates, or metadata fetched and not too stale. */
  usable(): boolean;
  /** Fetches the metadata now, within the fetch cooldown (a no-op for configured certificates); never throws. */
  warmUp(): Promise<void>;
}
