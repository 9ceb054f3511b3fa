import type { Principal } from '../subject-tokens/validated-token.js';
import type { Binding, Sealed } from './envelope.js';
import type { UpstreamTokenResponse } from './upstream-provider.js';

/** One user's account at one connection. */
export interface GrantKey {
  readonly connection: string;
  /** The user as actbridge knows them: the principal of the token they presented (sub + iss). */
  readonly user: Principal;
}

/** What the vault keeps of a connected account; the tokens only sealed. */
export interface GrantRecord {
  readonly key: GrantKey;
  /** `disconnected`: the provider refused the refresh token; the user must connect again. */
  readonly status: 'connected' | 'disconnected';
  /** Upstream scopes the access token carries. */
  readonly scopes: readonly string[];
  /** Expiry of the stored access token, epoch seconds; null when the provider gave none. */
  readonly expiresAt: number | null;
  /** The sealed UpstreamTokens; null once disconnected (they are dropped). */
  readonly sealed: Sealed | null;
  readonly connectedAt: number;
  readonly updatedAt: number;
  /** Why it was disconnected (operator text). */
  readonly reason?: string;
}

/** The tokens of a grant, as sealed into GrantRecord.sealed. */
export interface UpstreamTokens {
  readonly access_token: string;
  readonly token_type: string;
  readonly refresh_token?: string;
  /**
   * The scopes the access token carries, sealed with it: GrantRecord.scopes (a plain column, which the
   * exchange's scope check reads) must be these. Absent in a record sealed before they were.
   */
  readonly scopes?: readonly string[];
}

/**
 * Whether a record's `scopes` column says what was sealed (a grant's tokens, a connect flow's secrets);
 * true for a record sealed without them.
 */
export function scopesAsSealed(opened: { readonly scopes?: readonly string[] }, scopes: readonly string[]): boolean {
  if (opened.scopes === undefined) return true;
  const sealed = new Set(opened.scopes);
  return sealed.size === new Set(scopes).size && scopes.every((s) => sealed.has(s));
}

/** A write to a grant: tokens and their metadata, or the grant marked disconnected. */
export type GrantUpdate =
  | {
      readonly kind: 'tokens';
      readonly sealed: Sealed;
      readonly scopes: readonly string[];
      readonly expiresAt: number | null;
    }
  | { readonly kind: 'disconnected'; readonly reason: string };

/** A started connect flow, found by the hash of its `state`, then by the hash of its connect code. */
export interface PendingConnect {
  readonly stateHash: string;
  readonly connection: string;
  readonly user: Principal;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly scopes: readonly string[];
  /** Sealed ConnectSecrets (PKCE verifier, nonce, state; after the callback, the authorization response too). */
  readonly sealed: Sealed;
  readonly expiresAt: number;
  /** Set by the callback: the hash of the one-time code handed to the application. */
  readonly connectCodeHash?: string;
}

export interface ConnectSecrets {
  readonly state: string;
  readonly codeVerifier: string;
  readonly nonce?: string;
  /**
   * The scopes asked for, sealed: PendingConnect.scopes (a plain column, the grant's scopes when the
   * provider's answer names none) must be these. Absent in a flow sealed before they were.
   */
  readonly scopes?: readonly string[];
  /** The authorization response's query (code, state, iss), once the browser came back. */
  readonly callbackQuery?: string;
  /** The provider's answer to the code, kept when the database could not store the grant (the code is spent). */
  readonly answer?: UpstreamTokenResponse;
}

/**
 * Storage of the vault: PostgreSQL when DATABASE_URL is set, else process memory (development). It
 * holds sealed bytes only; sealing and opening are the vault's, with the bindings below.
 */
export interface VaultStore {
  /** Creates or updates the schema (PostgreSQL); nothing for memory. */
  migrate(): Promise<void>;
  read(key: GrantKey): Promise<GrantRecord | undefined>;
  /**
   * Runs `work` while holding the grant's lock, so that one refresh runs at a time per grant across
   * every instance; `work` sees the record as it is under the lock, and its `update` is written before
   * the lock is released (the rotated refresh token with the access token, atomically).
   */
  withGrantLock<T>(
    key: GrantKey,
    work: (record: GrantRecord | undefined) => Promise<{ readonly update?: GrantUpdate; readonly value: T }>,
  ): Promise<T>;
  /** A new connection of the account, replacing what was there. */
  save(key: GrantKey, tokens: Extract<GrantUpdate, { kind: 'tokens' }>): Promise<void>;
  /** Deletes the grant; returns what was stored. */
  remove(key: GrantKey): Promise<GrantRecord | undefined>;

  savePending(pending: PendingConnect): Promise<void>;
  /** The pending connect with this state hash, not yet returned from the provider and not expired. */
  findPendingByState(stateHash: string): Promise<PendingConnect | undefined>;
  /** Records the callback: the sealed secrets now with the authorization response, and the connect code's hash. */
  markReturned(stateHash: string, connectCodeHash: string, sealed: Sealed): Promise<boolean>;
  /** Removes and returns the pending connect with this connect code (single use), if not expired. */
  takePendingByCode(connectCodeHash: string): Promise<PendingConnect | undefined>;
  removePending(stateHash: string): Promise<void>;
  close(): Promise<void>;
}

export const VAULT_STORE = Symbol('VAULT_STORE');

/** The AAD binding of a grant's tokens: sealed for this user at this connection only. */
export function grantBinding(key: GrantKey): Binding {
  return ['grant', key.connection, key.user.iss, key.user.sub];
}

/** The AAD binding of a pending connect's secrets: its state, user, client and return address. */
export function pendingBinding(
  pending: Pick<PendingConnect, 'stateHash' | 'connection' | 'user' | 'clientId' | 'redirectUri'>,
): Binding {
  const { stateHash, connection, user, clientId, redirectUri } = pending;
  return ['connect', stateHash, connection, user.iss, user.sub, clientId, redirectUri];
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
