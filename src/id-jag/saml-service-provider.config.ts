import { ArrayMaxSize, ArrayNotEmpty, ArrayUnique, IsArray, IsString, Matches } from 'class-validator';
import { IsSecureUrl } from '../config/config-validators.js';

/**
 * A client that signs its users in by SAML: the service provider the enterprise IdP issues its SSO
 * assertions to. ID-JAG §4.3.3: an identity assertion presented for an ID-JAG must be addressed to the
 * authenticated client; for SAML that is this entity ID (the Audience), delivered to these ACS URLs.
 */
export class SamlServiceProviderConfig {
  /** The client's SAML entity ID: the AudienceRestriction of the assertions issued to it. */
  @IsString()
  @Matches(/^[a-zA-Z][a-zA-Z0-9+.-]*:\S{1,1000}$/, { message: 'must be an absolute URI (the SP entity ID)' })
  entity_id!: string;

  /** Its Assertion Consumer Service URLs: the accepted SubjectConfirmationData Recipient and Response Destination. */
  @IsArray()
  @ArrayNotEmpty()
  @ArrayUnique()
  @ArrayMaxSize(20)
  @IsSecureUrl({
    each: true,
    message: 'each value must be an https URL without user info or fragment (http only for loopback)',
  })
  acs_urls!: string[];
}
