import type { AuditRecord } from '../audit/audit-record.js';
import type { ClientConfig } from '../clients/client.config.js';
import type { DpopBinding } from '../dpop/dpop-proof.js';
import type { TokenRequestParams } from '../oauth/request-params.js';
import type { TokenResponse } from '../oauth/token-response.js';

export interface GrantContext {
  readonly params: TokenRequestParams;
  /** The authenticated client, already allowed to use this grant type. */
  readonly client: ClientConfig;
  /** The request's audit record: the handler fills in what it establishes. */
  readonly audit: AuditRecord;
  /**
   * RFC 9449: present when the request carried a valid DPoP proof (checked by the dispatcher for every
   * grant). The issued token binds to `dpop.jkt` (`cnf.jkt`, `token_type: DPoP`); a presented token
   * bound to a key (its own `cnf.jkt`) needs this to match (see dpop/sender-constraint.ts).
   */
  readonly dpop?: DpopBinding;
}

/**
 * One grant type. The dispatcher has already answered unsupported_grant_type, authenticated the client
 * and checked unauthorized_client; a handler validates its own parameters and throws OAuthErrors.
 * Adding a grant is one class implementing this plus one line in GRANT_HANDLERS.
 */
export interface GrantHandler {
  readonly grantType: string;
  handle(context: GrantContext): Promise<TokenResponse>;
}

export const GRANT_HANDLERS = Symbol('GRANT_HANDLERS');
