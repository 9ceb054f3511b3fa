import { Inject, Injectable } from '@nestjs/common';
import { InvalidGrant, type OAuthError } from '../oauth/oauth-error.js';
import { decodeJoseHeader } from '../jose/jwt-verify.js';
import { clock } from '../common/clock.js';
import { tokenParameter, tokenRejected, type TokenRole } from '../oauth/token-rejection.js';
import type { ValidatedToken } from './validated-token.js';
import { TokenTypes } from '../oauth/token-types.js';
import { revokeWithDescendants, type CascadeResult } from '../stores/cascade.js';
import { rootKey, rootKeyOfToken, subjectKey } from '../stores/lineage-keys.js';
import { LINEAGE_STORE, MAX_ANCESTORS, type LineageStore, type NewLineageEntry } from '../stores/lineage-store.js';
import { storeUnavailable } from '../stores/replay-guard.js';
import { REVOCATION_STORE, type RevocationStore, type RevokedList } from '../stores/revocation-store.js';

/** Where a presented token sits in the lineage: the key its children name, and its other keys. */
export interface LineageLink {
  /** Its `jti` when actbridge issued it, else its root key (lineage-keys.ts). */
  readonly parent: string;
  /** For a token from a trust anchor: its subject's key (revoking the subject reaches it). */
  readonly known: readonly string[];
  readonly role: TokenRole;
}

/** A presented token's place in the lineage; no store access (the record or the check reads the store). */
export function lineageLink(token: ValidatedToken, raw: string, role: TokenRole): LineageLink {
  // A SAML assertion's claims are its IdP's attributes: one named `jti` identifies no token (docs/lineage.md).
  const jwt = token.tokenType !== TokenTypes.saml2;
  const jti = jwt && typeof token.claims.jti === 'string' ? token.claims.jti : undefined;
  if (token.anchor.self && jti !== undefined) return { parent: jti, known: [], role };
  const { iss, sub } = token.principal;
  return {
    parent: jti === undefined ? rootKeyOfToken(iss, signedContent(raw)) : rootKey(iss, jti),
    known: [subjectKey(iss, sub)],
    role,
  };
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * What names a token without `jti`: a JWS by its signing input (header and payload), since one signature
 * has several encodings (base64url's spare trailing bits, RFC 4648 §3.5; ECDSA's (r, n-s)) and a re-encoded
 * token must not escape the revocation of its root; anything else (a SAML assertion, an opaque token) by
 * all of it. A JWS is what the access-token validator routes as one: a JOSE header with an `alg`.
 */
function signedContent(raw: string): string {
  if (!COMPACT_JWS.test(raw) || typeof decodeJoseHeader(raw)?.alg !== 'string') return raw;
  return raw.slice(0, raw.lastIndexOf('.'));
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
    return (await this.revocationOf(jti)) === undefined;
  }

  /** The first revoked key among a token's `jti` and its ancestors, and whose revocation reached it. */
  async revocationOf(jti: string): Promise<{ key: string; origin: string } | undefined> {
    return (await guard(() => this.lineage.inspect([jti]))).revoked;
  }

  /**
   * A presented token that is not exchanged for one of actbridge's tokens (the token vault): refused
   * if it, or anything it was issued from, has been revoked. Exchanges are checked by `record`.
   */
  async assertNotRevoked(token: ValidatedToken, raw: string, role: TokenRole): Promise<void> {
    // A token actbridge issued is remembered as revoked (and its lineage kept) until its exp only, yet
    // accepted CLOCK_SKEW longer: past its exp "not revoked" cannot be known. An exchange could issue
    // nothing from it either (an issued token ends at its subject's exp).
    if (token.anchor.self && token.expiresAt <= clock.seconds()) throw tokenRejected(role, 'has expired');
    const link = lineageLink(token, raw, role);
    const { revoked } = await guard(() => this.lineage.inspect([link.parent, ...link.known]));
    if (revoked) throw refusal(link, revoked);
  }

  /**
   * Records a token just minted from the presented tokens (`links`, subject first), in the same atomic
   * step as the check that neither they nor anything they were issued from has been revoked (RFC 7009:
   * a revoked token cannot be exchanged again, as subject, actor or assertion; nor can its
   * descendants). A refusal discards the minted token. Returns the parents, for the audit line.
   */
  async record(
    links: readonly LineageLink[],
    token: Omit<NewLineageEntry, 'parents' | 'subject'> & { readonly subject: { iss: string; sub: string } },
  ): Promise<readonly string[]> {
    const { jti, client_id, actor, audience, typ, iat, exp } = token;
    const parents = links.map((link) => link.parent);
    const subject = subjectKey(token.subject.iss, token.subject.sub);
    const entry: NewLineageEntry = { jti, parents, subject, client_id, actor, audience, typ, iat, exp };
    // A token whose lineage is not recorded would escape a later cascade: none is issued without it.
    const known = links.flatMap((link) => link.known);
    const outcome = await guard(
      () => this.lineage.record(entry, known),
      'cannot record the token lineage right now; retry later',
    );
    if (outcome.recorded) return parents;
    if (!outcome.revoked) {
      throw new InvalidGrant('delegation lineage is too deep', {
        detail: `the token would have ${outcome.ancestors} ancestors (at most ${MAX_ANCESTORS})`,
      });
    }
    // Which presented token it was (only on a refusal): the one the revoked key names, without a further
    // read (an upstream token's record is answered while the store's memory is in doubt, its reads are
    // not); else each is looked at on its own.
    const found = outcome.revoked;
    const named = links.find((link) => link.parent === found.key || link.known.includes(found.key));
    if (named) throw refusal(named, found);
    for (const link of links) {
      const { revoked } = await guard(() => this.lineage.inspect([link.parent, ...link.known]));
      if (revoked) throw refusal(link, revoked);
    }
    throw new InvalidGrant('tokens of this subject have been revoked', {
      detail: `${outcome.revoked.key} revoked through ${outcome.revoked.origin}`,
    });
  }

  list(): Promise<RevokedList> {
    return guard(() => this.store.list());
  }

  version(): Promise<string> {
    return guard(() => this.store.version());
  }
}

function refusal(link: LineageLink, revoked: { key: string; origin: string }): OAuthError {
  const own = revoked.key === link.parent || link.known.includes(revoked.key);
  if (own && revoked.origin === revoked.key) return tokenRejected(link.role, 'has been revoked');
  const param = tokenParameter(link.role);
  return new InvalidGrant(`${param} was issued from a revoked token`, {
    detail: `${param} ${revoked.key} revoked through ${revoked.origin}`,
  });
}

async function guard<T>(
  step: () => Promise<T>,
  description = 'cannot check token revocation right now; retry later',
): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw storeUnavailable(description, error, 'revocation store');
  }
}
