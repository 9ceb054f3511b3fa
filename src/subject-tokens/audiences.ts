import type { ClientConfig } from '../clients/client.config.js';
import type { TrustAnchor } from '../trust-anchors/trust-anchor.js';

/**
 * `aud` values under which a presented JWT may reach actbridge through this client: the names the
 * issuer uses for actbridge, or the client itself as the token's recipient (RFC 8693 "on behalf of").
 * The bare client_id counts only for actbridge's own tokens, where targets and client ids share one
 * namespace; another issuer's client ids are its own business.
 */
export function acceptedAudiences(anchor: TrustAnchor, client: ClientConfig): string[] {
  return anchor.self
    ? [...anchor.audiences, client.client_id, ...client.recipient_ids]
    : [...anchor.audiences, ...client.recipient_ids];
}
