import type { ClientConfig } from '../clients/client.config.js';
import type { JwtTrustAnchor } from '../trust-anchors/trust-anchor.js';

/**
 * `aud` values under which a presented access token or JWT may reach actbridge through this client:
 * the names the issuer uses for actbridge (its `audiences`), or the client itself as the token's
 * recipient (RFC 8693 "on behalf of": a service exchanging a token it received). The client counts by
 * its bare client_id only for actbridge's own tokens, where targets and client ids share one
 * namespace; at another issuer, only by the identifiers its anchor maps it to (`client_ids`), since
 * that issuer's names are its own business.
 */
export function acceptedAudiences(anchor: JwtTrustAnchor, client: ClientConfig): string[] {
  return anchor.self
    ? [...anchor.audiences, client.client_id]
    : [...anchor.audiences, ...(anchor.clientIds.get(client.client_id) ?? [])];
}

/**
 * acceptedAudiences for a token of the given (normalised) `typ`: one typed only `JWT` or untyped cannot
 * be told from an ID token by its header, and a client-addressed `aud` is exactly what an ID token
 * issued to that client carries, so such a token must name actbridge itself (the anchor's `audiences`).
 */
export function audiencesForTyp(anchor: JwtTrustAnchor, client: ClientConfig, typ: string): string[] {
  return isGenericTyp(typ) ? [...anchor.audiences] : acceptedAudiences(anchor, client);
}

/** No `typ`, or `JWT`: what ID tokens and many other JWTs carry alike. */
export function isGenericTyp(typ: string): boolean {
  return typ === '' || typ === 'jwt';
}

/**
 * The presenting client's identifiers at this issuer, which an ID token issued to it carries as `aud`
 * (and `azp`): the anchor's `client_ids` entry for it, or else its own client_id.
 */
export function clientIdsAtIssuer(anchor: JwtTrustAnchor, client: ClientConfig): readonly string[] {
  return anchor.clientIds.get(client.client_id) ?? [client.client_id];
}
