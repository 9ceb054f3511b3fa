import type { TokenRole } from '../oauth/token-rejection.js';
import type { TrustAnchor } from '../trust-anchors/trust-anchor.js';
import type { JWTPayload } from 'jose';
import type { ClientConfig } from '../clients/client.config.js';
import type { SamlNameId } from '../saml/saml2-assertion.js';

/** Who a token is about, in the namespace of the issuer that vouched for it. */
export interface Principal {
  readonly sub: string;
  readonly iss: string;
}

export interface ValidationContext {
  readonly role: TokenRole;
  /** The authenticated client presenting the token. */
  readonly client: ClientConfig;
  /**
   * SAML only: the service provider the assertion must be addressed to (Audience, Recipient, a signed
   * Response's Destination) instead of actbridge: an SSO assertion the client itself received, as
   * ID-JAG §4.3.3 requires of an identity assertion presented for an ID-JAG.
   */
  readonly samlServiceProvider?: { readonly entityId: string; readonly acsUrls: readonly string[] };
  /**
   * The caller spends a single-use token (a SAML assertion's ID) itself, through the validated token's
   * `spend`, once nothing else refuses the request; otherwise validation spends it.
   */
  readonly deferSingleUse?: boolean;
}

/**
 * A presented token after validation, whatever its format: what came in and who vouches for it.
 * The delegation core works on this alone.
 */
export interface ValidatedToken {
  readonly tokenType: string;
  readonly principal: Principal;
  /** The trust anchor that vouched for it: its keys verified it, its policy decides what it gets. */
  readonly anchor: TrustAnchor;
  /** JWT claims; for a SAML assertion, the attributes flattened (single value → string, several → array). */
  readonly claims: Readonly<JWTPayload>;
  /** SAML only: the Subject's NameID, its Format and qualifiers. */
  readonly nameId?: SamlNameId;
  /** SAML only: every attribute by Name, all values as strings. */
  readonly attributes?: Readonly<Record<string, readonly string[]>>;
  /** SAML only: its AuthnStatement's AuthnInstant (epoch seconds) and AuthnContextClassRef. */
  readonly authn?: { readonly instant?: number; readonly contextClass?: string };
  /**
   * SAML only, when its ProxyRestriction lists Audiences: the only audiences a token issued on its basis
   * may have (SAML Core §2.5.1.6).
   */
  readonly proxyAudiences?: readonly string[];
  /** The token's own scope, or undefined when it carries none (e.g. an identity assertion). */
  readonly scope: readonly string[] | undefined;
  /** `exp`, epoch seconds. */
  readonly expiresAt: number;
  /** Raw `act` claim, if any: the delegation core validates it and decides whether it is believed. */
  readonly act: unknown;
  /** Raw `may_act` claim, if any. */
  readonly mayAct: unknown;
  /** Only when validation deferred it (`deferSingleUse`): spends its single-use ID, refusing a replay. */
  readonly spend?: () => Promise<void>;
}
