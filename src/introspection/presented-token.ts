import type { FastifyRequest } from 'fastify';
import type { AuditRecord } from '../audit/audit-record.js';
import type { ClientAuthenticator } from '../client-auth/client-authenticator.js';
import type { ClientConfig } from '../clients/client.config.js';
import { InvalidRequest } from '../oauth/oauth-error.js';
import { formParamsOf } from '../oauth/request-params.js';
import type { IssuedTokenClaims, IssuedTokens } from './issued-tokens.js';

/**
 * What RFC 7662 §2.1 and RFC 7009 §2.1 requests share: a form from an authenticated client (the methods
 * of the token endpoint), with one `token` and an optional `token_type_hint` (only a hint: actbridge
 * issues one kind of token). `claims` is undefined when the token is not a live actbridge access token.
 */
export async function readPresentedToken(
  request: FastifyRequest,
  clients: ClientAuthenticator,
  tokens: IssuedTokens,
  audit: AuditRecord,
): Promise<{ client: ClientConfig; claims: IssuedTokenClaims | undefined }> {
  const params = formParamsOf(request);
  const client = await clients.authenticate(params, request.headers.authorization, audit);
  const token = params.single('token');
  if (token === undefined) throw new InvalidRequest('token is required');
  params.single('token_type_hint'); // still refused when repeated
  return { client, claims: await tokens.read(token) };
}
