import { Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { formRoute, type HttpRoute } from '../http/http-route.js';
import { INTROSPECTION_ENDPOINT_PATH } from '../oauth/endpoint-paths.js';
import { isPartyTo, type IssuedTokenClaims } from './issued-tokens.js';
import { PresentedTokenRoutes } from './presented-token.js';

/** Claims an introspection response repeats from the token (RFC 7662 §2.2, RFC 8693 §4, RFC 9449 §6.2). */
const REPEATED_CLAIMS = ['iss', 'sub', 'sub_id', 'aud', 'client_id', 'scope', 'act', 'cnf', 'exp', 'iat', 'jti'];

/**
 * Token introspection (RFC 7662) of the access tokens actbridge issued. The caller authenticates as a
 * registered client (the same methods as at the token endpoint, RFC 7662 §2.1) and learns about a token
 * only if it is a party to it: the client it was issued to, or a client its `aud` names (`client_id`
 * or `resource_audiences`, i.e. a resource server). Everything else, like expired, revoked, foreign or
 * malformed tokens, is `{"active": false}` (RFC 7662 §2.2), so the endpoint cannot be used to scan.
 */
@Injectable()
export class IntrospectionRoutes extends PresentedTokenRoutes {
  routes(): HttpRoute[] {
    return [
      formRoute('introspection', INTROSPECTION_ENDPOINT_PATH, 'introspection', (request) => this.introspect(request)),
    ];
  }

  private async introspect(request: FastifyRequest): Promise<Record<string, unknown>> {
    const { record, client, claims } = await this.presented(request);
    // Revoked, or issued from a revoked token (its lineage), is inactive.
    const active = claims !== undefined && isPartyTo(claims, client) && (await this.revocations.isActive(claims.jti));
    // Written before the answer: an introspection nobody can trace is not answered (503).
    this.audit.introspected(record, active, claims);
    return active ? introspectionResponse(claims) : { active: false };
  }
}

export function introspectionResponse(claims: IssuedTokenClaims): Record<string, unknown> {
  const response: Record<string, unknown> = { active: true };
  for (const name of REPEATED_CLAIMS) if (claims[name] !== undefined) response[name] = claims[name];
  // RFC 9449 §6.2: with cnf.jkt, token_type (if present) MUST be DPoP.
  const cnf = claims.cnf as { jkt?: unknown } | undefined;
  response.token_type = typeof cnf?.jkt === 'string' ? 'DPoP' : 'Bearer';
  return response;
}
