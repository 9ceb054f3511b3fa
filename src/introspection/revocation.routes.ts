import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { formRoute, type HttpRoute } from '../http/http-route.js';
import { REVOCATION_ENDPOINT_PATH } from '../oauth/endpoint-paths.js';
import { InvalidRequest, UnsupportedTokenType } from '../oauth/oauth-error.js';
import { PresentedTokenRoutes } from './presented-token.js';

/**
 * Token revocation (RFC 7009) of the access tokens actbridge issued. Only the client a token was issued
 * to (its `client_id`) may revoke it (§2.1), or a client with `revocation_admin`; another client is
 * refused with `invalid_request`. The
 * token's `jti` is remembered as revoked until its `exp` (Redis when REDIS_URL is set), after which the
 * token is dead anyway. Tokens that are not live actbridge access tokens get the plain 200 §2.2 asks
 * for: there is nothing to revoke. Every token issued from this one, transitively, is revoked with it
 * (its lineage, docs/lineage.md).
 */
@Injectable()
export class RevocationRoutes extends PresentedTokenRoutes {
  routes(): HttpRoute[] {
    return [
      // RFC 7009 §2.2: an empty 200 whether or not there was anything to revoke.
      formRoute('revocation', REVOCATION_ENDPOINT_PATH, 'revocation', async (request, reply) => {
        await this.revoke(request);
        return reply.code(200).send();
      }),
    ];
  }

  private async revoke(request: FastifyRequest): Promise<void> {
    const { record, client, claims, token } = await this.presented(request);
    if (!claims) {
      // RFC 7009 §2.2.1: a live ID-JAG is spent at its resource AS, and cannot be revoked here; a 200 would say it was.
      if (await this.tokens.isLiveIdJag(token)) {
        throw new UnsupportedTokenType('an ID-JAG cannot be revoked here; it expires at its exp');
      }
      // RFC 7009 §2.2: an invalid token is not an error; the client cannot do anything about it.
      return this.audit.revoked(record);
    }
    const own = claims.client_id === client.client_id;
    if (!own && !client.revocation_admin) {
      throw new InvalidRequest('client is not authorized to revoke the presented token', {
        detail: `token ${claims.jti} was issued to ${claims.client_id}`,
      });
    }
    const revoked = await this.revocations.revocationOf(claims.jti);
    // §2.2: a token an ancestor's cascade has revoked is not live: nothing to revoke, nothing audited as revoked.
    if (revoked?.key === claims.jti && revoked.origin !== claims.jti) return this.audit.revoked(record);
    // Revoked itself already (or only an ancestor, whose walk has not reached it): the walk runs again, each
    // step idempotent, so that a retry completes at once a cascade the store cut short (503 mid-way), which
    // CascadeResumer would otherwise complete within CASCADE_RESUME_INTERVAL. Audited as revoked if it revoked anything.
    const { descendants, newlyRevoked } = await this.revocations.revokeTree(claims.jti, claims.exp);
    const again = revoked?.key === claims.jti;
    if (again && newlyRevoked === 0) return this.audit.revoked(record);
    this.audit.revoked(record, {
      revoked_by: own ? 'client' : 'admin',
      subject: claims.sub,
      jti: claims.jti,
      exp: claims.exp,
      descendants_revoked: again ? newlyRevoked : descendants,
    });
  }
}
