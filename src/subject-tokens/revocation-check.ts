import { Inject, Injectable } from '@nestjs/common';
import { tokenRejected, type TokenRole } from '../oauth/token-rejection.js';
import type { ValidatedToken } from './validated-token.js';
import { storeUnavailable } from '../stores/replay-guard.js';
import { REVOCATION_STORE, type RevocationStore } from '../stores/revocation-store.js';

/**
 * The RevocationStore as the endpoints use it: fails closed (503 temporarily_unavailable) when the
 * store cannot answer, or may have forgotten revocations, since "not revoked" cannot then be known.
 */
@Injectable()
export class RevocationList {
  constructor(@Inject(REVOCATION_STORE) private readonly store: RevocationStore) {}

  async revoke(jti: string, expiresAt: number): Promise<void> {
    try {
      await this.store.revoke(jti, expiresAt);
    } catch (error) {
      throw unavailable(error);
    }
  }

  async isRevoked(jti: string): Promise<boolean> {
    try {
      return await this.store.isRevoked(jti);
    } catch (error) {
      throw unavailable(error);
    }
  }

  /**
   * A token actbridge issued and then revoked (RFC 7009) cannot be exchanged again, as subject, actor
   * or assertion. Tokens from other issuers are their issuer's to revoke.
   */
  async assertNotRevoked(token: ValidatedToken, role: TokenRole): Promise<void> {
    if (!token.anchor.self || typeof token.claims.jti !== 'string') return;
    if (await this.isRevoked(token.claims.jti)) throw tokenRejected(role, 'has been revoked');
  }
}

function unavailable(error: unknown): Error {
  return storeUnavailable('cannot check token revocation right now; retry later', error, 'revocation store');
}
