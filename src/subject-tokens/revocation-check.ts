import { Inject, Injectable } from '@nestjs/common';
import { InvalidGrant } from '../oauth/oauth-error.js';
import { tokenParameter, tokenRejected, type TokenRole } from '../oauth/token-rejection.js';
import type { ValidatedToken } from './validated-token.js';
import { revokeWithDescendants, type CascadeResult } from '../stores/cascade.js';
import { rootKey, rootKeyOfToken, subjectKey } from '../stores/lineage-keys.js';
import { LINEAGE_STORE, MAX_ANCESTORS, type LineageEntry, type LineageStore } from '../stores/lineage-store.js';
import { storeUnavailable } from '../stores/replay-guard.js';
import { REVOCATION_STORE, type RevocationStore, type RevokedList } from '../stores/revocation-store.js';

/** Where a presented token sits in the lineage: the key its children name, and what is above it. */
export interface LineageLink {
  readonly parent: string;
  readonly ancestors: readonly string[];
}

/**
 * The RevocationStore and LineageStore as the endpoints use them: fail closed (503
 * temporarily_unavailable) when the store cannot answer, or may have forgotten revocations or lineage,
 * since "not revoked" cannot then be known.
 */
@Injectable()
export class RevocationList {
  constructor(
    @Inject(REVOCATION_STORE) private readonly store: RevocationStore,
    @Inject(LINEAGE_STORE) private readonly lineage: LineageStore,
  ) {}

  /** Revokes `key` (a jti, root or subject key) and every descendant (stores/cascade.ts). */
  revokeTree(key: string, expiresAt: number): Promise<CascadeResult> {
    return guard(() => revokeWithDescendants(this.store, this.lineage, { key, exp: expiresAt }));
  }

  /** A recorded token's expiry (undefined when its lineage is unknown or it has expired). */
  async expiryOf(jti: string): Promise<number | undefined> {
    const [entry] = await guard(() => this.lineage.entries([jti]));
    return entry?.exp;
  }

  /** Whether a token actbridge issued is neither revoked nor issued from a revoked token. */
  async isActive(jti: string): Promise<boolean> {
    return (await guard(() => this.lineage.inspect([jti]))).revoked === undefined;
  }

  /**
   * A presented token: refused if it, or anything it was issued from, has been revoked (RFC 7009: a
   * revoked token cannot be exchanged again, as subject, actor or assertion; nor can its descendants).
   * Tokens from trust anchors are roots: refused when an operator revoked the root or its subject.
   */
  async link(token: ValidatedToken, raw: string, role: TokenRole): Promise<LineageLink> {
    const jti = typeof token.claims.jti === 'string' ? token.claims.jti : undefined;
    const { iss, sub } = token.principal;
    const own =
      token.anchor.self && jti !== undefined
        ? [jti]
        : [jti === undefined ? rootKeyOfToken(iss, raw) : rootKey(iss, jti), subjectKey(iss, sub)];
    const inspection = await guard(() => this.lineage.inspect(own));
    const { revoked } = inspection;
    if (revoked) {
      if (revoked.origin === revoked.key && own.includes(revoked.key)) throw tokenRejected(role, 'has been revoked');
      throw new InvalidGrant(`${tokenParameter(role)} was issued from a revoked token`, {
        detail: `${tokenParameter(role)} ${revoked.key} revoked through ${revoked.origin}`,
      });
    }
    return { parent: own[0]!, ancestors: [...own.slice(1), ...inspection.ancestors] };
  }

  /** Records the lineage of a token just issued from `links` (the presented tokens, subject first). */
  async record(
    links: readonly LineageLink[],
    token: Omit<LineageEntry, 'parents' | 'ancestors' | 'subject'> & { readonly subject: { iss: string; sub: string } },
  ): Promise<readonly string[]> {
    const subject = subjectKey(token.subject.iss, token.subject.sub);
    const ancestors = new Set<string>();
    for (const link of links) for (const key of [link.parent, ...link.ancestors]) ancestors.add(key);
    ancestors.add(subject);
    // Checked at every use of the token, so bounded: deeper lineages come only from chains of chains.
    if (ancestors.size > MAX_ANCESTORS) {
      throw new InvalidGrant('delegation lineage is too deep', {
        detail: `the token would have ${ancestors.size} ancestors (at most ${MAX_ANCESTORS})`,
      });
    }
    const parents = links.map((link) => link.parent);
    await guard(() => this.lineage.record({ ...token, parents, ancestors: [...ancestors], subject }));
    return parents;
  }

  list(): Promise<RevokedList> {
    return guard(() => this.store.list());
  }

  version(): Promise<string> {
    return guard(() => this.store.version());
  }
}

async function guard<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw storeUnavailable('cannot check token revocation right now; retry later', error, 'revocation store');
  }
}
