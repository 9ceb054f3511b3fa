import { ArrayNotEmpty, IsArray, IsIn, IsString, MinLength } from 'class-validator';
import {
  IsFlag,
  IsIntInRange,
  IsNonEmptyString,
  IsOmittable,
  IsSecureUrl,
  IsStringMap,
} from '../config/config-validators.js';

/**
 * The `saml:` section of a `kind: saml` trust anchor: where the IdP's signing certificates come from
 * (exactly one of `metadata_file`, `metadata_url`, `certificates`) and how its assertions are read.
 */
export class SamlAnchorConfig {
  /** IdP metadata XML (an EntityDescriptor whose entityID is the anchor's issuer), relative to the anchor file. */
  @IsOmittable()
  @IsNonEmptyString()
  metadata_file?: string;

  /** IdP metadata fetched over https (http only on loopback); cached and refreshed like a JWKS. */
  @IsOmittable()
  @IsSecureUrl()
  metadata_url?: string;

  /** Signing certificates: each entry an inline PEM certificate, or a PEM file relative to the anchor file. */
  @IsOmittable()
  @IsArray()
  @ArrayNotEmpty()
  @IsString({ each: true })
  @MinLength(1, { each: true })
  certificates?: string[];

  /**
   * Accept an unsigned Assertion when the samlp:Response around it is signed. Off by default: the
   * assertion itself must be signed, so it stays verifiable wherever it travels (RFC 7522 §3 item 9).
   */
  @IsFlag()
  allow_unsigned_assertion_in_signed_response = false;

  /**
   * Signature canonicalizations accepted. `exclusive` (default): exclusive c14n only, what SAML IdPs
   * emit. `inclusive`: also inclusive c14n 1.0 and the "with comments" forms of both, for IdPs that sign
   * that way; the signature structure required is the same (one enveloped signature, one Reference to
   * the element's unique ID, enveloped-signature + one canonicalization, keys from this anchor only).
   */
  @IsOmittable()
  @IsIn(['exclusive', 'inclusive'])
  canonicalization: 'exclusive' | 'inclusive' = 'exclusive';

  /** Renames attributes in the token's claims: friendly name → attribute Name as the IdP sends it, each Name once. */
  @IsOmittable()
  @IsStringMap(
    'isAttributeMap',
    'must map friendly names to attribute Names (non-empty strings)',
    (friendlyName, name) => friendlyName.length > 0 && name.length > 0,
  )
  attributes?: Record<string, string>;

  /** Longest accepted time from now to an assertion's NotOnOrAfter, seconds (RFC 7522 §3 item 6). */
  @IsOmittable()
  @IsIntInRange(1, 86400)
  max_assertion_lifetime = 3600;

  /** Filled by the loader (never from YAML): PEM certificates from `certificates` or `metadata_file`. */
  resolvedCertificates?: string[];
  /** Filled by the loader from `metadata_file`: its validUntil (epoch seconds), past which its certificates are not used. */
  resolvedValidUntil?: number;
}
