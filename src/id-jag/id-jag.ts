import { TokenTypes } from '../oauth/token-types.js';

/**
 * Identity Assertion JWT Authorization Grant (draft-ietf-oauth-identity-assertion-authz-grant-04,
 * "ID-JAG", Cross App Access): identifiers shared by the IdP role (issuing) and the resource
 * authorization server role (redeeming).
 */

/** §3.1: the JOSE header `typ` of every ID-JAG (explicit typing, RFC 8725 §3.11). */
export const ID_JAG_TYP = 'oauth-id-jag+jwt';

/** §7/§8: the value of `authorization_grant_profiles_supported` in resource-AS metadata. */
export const ID_JAG_GRANT_PROFILE = 'urn:ietf:params:oauth:grant-profile:id-jag';

/**
 * §4.3: the subject token of an ID-JAG request must be an Identity Assertion. A subject validator for
 * each type is registered in subject-tokens.module.ts (saml2 arrives with the SAML validator); what
 * decides acceptance is the *validated* token's type being on this list.
 */
export const IDENTITY_ASSERTION_TYPES: readonly string[] = [TokenTypes.idToken, TokenTypes.saml2];
