import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AuditRecord } from '../audit/audit-record.js';
import type { ClientConfig } from '../clients/client.config.js';
import { SERVER_CONFIG, type ServerConfig } from '../config/server-config.js';
import { InvalidRequest, InvalidScope, InvalidTarget } from '../oauth/oauth-error.js';
import { buildSubjectView } from '../delegation/subject-view.js';
import { TokenTypes } from '../oauth/token-types.js';
import type { ValidatedToken } from '../subject-tokens/validated-token.js';
import type { CompiledConnectionRule } from './connection-policy.js';
import { sealJson } from './envelope.js';
import type { KeyRing } from './key-ring.js';
import { UpstreamError, type UpstreamAnswer } from './upstream-provider.js';
import { vaultCaller } from './vault-actors.js';
import type { LoadedConnection } from './vault-config.js';
import { VaultConnections } from './vault-connections.js';
import { notConnected, openServable, reconnect, upstreamUnavailable, vaultStoreCall } from './vault-errors.js';
import {
  grantBinding,
  nowSeconds,
  VAULT_STORE,
  type GrantKey,
  type GrantRecord,
  type GrantUpdate,
  type UpstreamTokens,
  type VaultStore,
} from './vault-store.js';
import { type TokenResponse } from '../oauth/token-response.js';
import { namedInRefusal } from '../oauth/scope.js';

export const VAULT_KEY_RING = Symbol('VAULT_KEY_RING');

/** What the vault reads of an RFC 8693 request. */
export interface VaultExchangeRequest {
  readonly audience: readonly string[];
  readonly resource: readonly string[];
  readonly requested_token_type?: string;
  readonly requestedScope: readonly string[] | undefined;
}

export interface VaultExchange {
  readonly request: VaultExchangeRequest;
  readonly client: ClientConfig;
  readonly subject: ValidatedToken;
  readonly actor?: ValidatedToken;
  readonly audit: AuditRecord;
}

/** A grant's tokens as they are handed out. */
interface Served {
  readonly tokens: UpstreamTokens;
  readonly scopes: readonly string[];
  readonly expiresAt: number | null;
}

type Locked =
  | { readonly kind: 'served'; readonly served: Served }
  | { readonly kind: 'missing' }
  | { readonly kind: 'revoked'; readonly reason: string; readonly revoke?: UpstreamTokens }
  | { readonly kind: 'unavailable'; readonly error: UpstreamError };

/** The outcome of a locked section, and the write to make before the lock is released. */
interface LockedWork {
  readonly update?: GrantUpdate;
  readonly value: Locked;
}

/** A grant due for a refresh, as read under its lock. */
interface Due {
  readonly connection: LoadedConnection;
  readonly key: GrantKey;
  readonly record: GrantRecord;
  readonly current: Served;
  readonly expired: boolean;
  readonly refreshToken: string;
}

/**
 * The token vault's side of token exchange: a request whose `audience`/`resource` names a connection
 * asks for the subject user's upstream access token there. The connection's clients and rules decide
 * who gets it; the stored token is refreshed first when (nearly) expired, by one caller at a time per
 * grant across instances; it is never handed out past its expiry.
 */
@Injectable()
export class TokenVault {
  private readonly logger = new Logger('TokenVault');
  private readonly server: Pick<ServerConfig, 'issuer' | 'maxChainDepth' | 'vaultRefreshMargin'>;
  /** Refreshes under way in this instance, by grant: concurrent callers share one. */
  private readonly inFlight = new Map<string, Promise<Served>>();

  constructor(
    @Inject(SERVER_CONFIG) server: ServerConfig,
    private readonly connections: VaultConnections,
    @Inject(VAULT_STORE) private readonly store: VaultStore,
    @Inject(VAULT_KEY_RING) private readonly ring: KeyRing,
  ) {
    this.server = server;
  }

  /** Whether a token-exchange request names a connection, and so asks for an upstream token. */
  names(request: { readonly audience: readonly string[]; readonly resource: readonly string[] }): boolean {
    if (!this.connections.enabled) return false;
    return (
      request.audience.some((t) => this.connections.forTarget(t)) ||
      request.resource.some((t) => this.connections.forTarget(t))
    );
  }

  async exchange({ request, client, subject, actor, audit }: VaultExchange): Promise<TokenResponse> {
    const targets = [...new Set([...request.audience, ...request.resource])];
    const connection = targets.map((t) => this.connections.forTarget(t)).find((c) => c !== undefined)!;
    audit.connection = connection.name;
    audit.audience = targets;
    // RFC 8693 §2.2.2: the connection's token serves that one API, so it cannot share a request.
    if (targets.length !== 1) {
      throw new InvalidTarget('a connection must be the only audience or resource of the request');
    }
    if ((request.requested_token_type ?? TokenTypes.accessToken) !== TokenTypes.accessToken) {
      throw new InvalidRequest("requested_token_type must be access_token for a connection's token");
    }
    if (!connection.config.clients.includes(client.client_id)) {
      throw new InvalidTarget('this client may not obtain tokens for this connection', {
        detail: `client ${client.client_id} is not among the clients of ${connection.file}`,
      });
    }
    // RFC 9449: the upstream token is the provider's; it cannot be bound to this client's key.
    if (client.dpop_bound_access_tokens) {
      throw new InvalidRequest("this client requires DPoP-bound tokens; a connection's upstream token cannot be bound");
    }

    const caller = vaultCaller(subject, actor, client, this.server);
    audit.subject = subject.principal;
    // The trust anchor that vouched for the user, as on every token line (and the issued-token metric).
    audit.anchor = subject.anchor.name;
    audit.actors = [...caller.actors];
    audit.mode = 'delegation';
    const decision = connection.policy.decide({ ...buildSubjectView(subject, client.client_id), actors: caller.view });
    const rule = decision.matched;
    if (!rule) {
      throw new InvalidTarget("the connection's policy does not grant this caller the user's token", {
        detail: `connection ${connection.name}: no rule matched (${decision.trace.join('; ')})`,
      });
    }
    audit.rule = `${connection.name}/${rule.name}`;
    const requested = request.requestedScope;
    this.checkRequestedScope(requested, connection, rule);

    const key: GrantKey = { connection: connection.name, user: subject.principal };
    const record = await vaultStoreCall(() => this.store.read(key));
    if (!record) throw notConnected(connection);
    if (record.status === 'disconnected') throw reconnect(connection, record.reason ?? 'disconnected');
    // Checked before any refresh, so a caller that is refused never causes one.
    this.checkGrantedScope(record.scopes, requested, connection, rule);
    const served = this.fresh(record)
      ? await vaultStoreCall(async () => this.served(record))
      : await this.refreshOnce(connection, key);
    this.checkGrantedScope(served.scopes, requested, connection, rule);

    const expiresIn = served.expiresAt === null ? undefined : Math.max(0, served.expiresAt - nowSeconds());
    audit.scope = served.scopes.join(' ');
    audit.issued_token_type = TokenTypes.accessToken;
    if (expiresIn !== undefined) audit.ttl = expiresIn;
    return {
      access_token: served.tokens.access_token,
      issued_token_type: TokenTypes.accessToken,
      token_type: served.tokens.token_type,
      ...(expiresIn === undefined ? {} : { expires_in: expiresIn }),
      ...(served.scopes.length > 0 ? { scope: served.scopes.join(' ') } : {}),
    };
  }

  /** RFC 6749 §3.3: what is asked for must be offered by the connection and granted by the rule. */
  private checkRequestedScope(
    requested: readonly string[] | undefined,
    connection: LoadedConnection,
    rule: CompiledConnectionRule,
  ): void {
    if (requested === undefined) return;
    const unknown = requested.filter((s) => !connection.config.scopes.includes(s));
    if (unknown.length > 0) {
      throw new InvalidScope('scope exceeds what the connection offers', {
        detail: `not among the scopes of ${connection.name}: ${namedInRefusal(unknown).join(' ')}`,
      });
    }
    const notGranted = requested.filter((s) => !rule.scopes.includes(s));
    if (notGranted.length > 0) {
      throw new InvalidScope("scope exceeds what the connection's policy grants this caller", {
        detail: `rule ${connection.name}/${rule.name} does not grant: ${namedInRefusal(notGranted).join(' ')}`,
      });
    }
  }

  /**
   * The stored token cannot be narrowed: it is handed out only when every scope it carries is granted
   * to this caller (or is one of connect.extra_scopes), and it carries whatever was asked for.
   */
  private checkGrantedScope(
    granted: readonly string[],
    requested: readonly string[] | undefined,
    connection: LoadedConnection,
    rule: CompiledConnectionRule,
  ): void {
    const missing = (requested ?? []).filter((s) => !granted.includes(s));
    if (missing.length > 0) {
      throw new InvalidScope('the user has not granted this scope to the connection; connect again asking for it', {
        detail: `${connection.name} grant lacks: ${missing.join(' ')}`,
      });
    }
    // docs/token-vault.md: the rule's scopes are all this caller may get; only the connect.extra_scopes
    // actbridge asked for itself (openid, offline_access) are not the rule's to grant.
    const excess = granted.filter(
      (s) => !rule.scopes.includes(s) && !connection.config.connect.extra_scopes.includes(s),
    );
    if (excess.length > 0) {
      throw new InvalidScope("the user's token carries scopes the connection's policy does not grant this caller", {
        detail: `rule ${connection.name}/${rule.name} does not grant: ${excess.join(' ')}`,
      });
    }
  }

  /**
   * Fresh: no expiry known, or more left than VAULT_REFRESH_MARGIN (but at least half its lifetime
   * left counts as fresh, so a token shorter-lived than the margin is not refreshed at every request).
   */
  private fresh(record: Pick<GrantRecord, 'expiresAt' | 'updatedAt'>): boolean {
    if (record.expiresAt === null) return true;
    const margin = Math.min(this.server.vaultRefreshMargin, (record.expiresAt - record.updatedAt) / 2);
    return record.expiresAt - nowSeconds() > margin;
  }

  private served(record: GrantRecord): Served {
    return { tokens: openServable(this.ring, record), scopes: record.scopes, expiresAt: record.expiresAt };
  }

  private refreshOnce(connection: LoadedConnection, key: GrantKey): Promise<Served> {
    const id = JSON.stringify([key.connection, key.user.iss, key.user.sub]);
    let flight = this.inFlight.get(id);
    if (!flight) {
      flight = this.refreshLocked(connection, key).finally(() => this.inFlight.delete(id));
      this.inFlight.set(id, flight);
    }
    return flight;
  }

  /** Under the grant's lock: refreshed meanwhile by another instance, or refresh now and store. */
  private async refreshLocked(connection: LoadedConnection, key: GrantKey): Promise<Served> {
    const provider = this.connections.provider(connection);
    const outcome = await vaultStoreCall(() =>
      this.store.withGrantLock<Locked>(key, async (record): Promise<LockedWork> => {
        if (!record) return { value: { kind: 'missing' } };
        if (record.status === 'disconnected')
          return { value: { kind: 'revoked', reason: record.reason ?? 'disconnected' } };
        const current = this.served(record);
        if (this.fresh(record)) return { value: { kind: 'served', served: current } };
        const expired = record.expiresAt !== null && record.expiresAt <= nowSeconds();
        const refreshToken = current.tokens.refresh_token;
        if (refreshToken === undefined) {
          if (!expired) return { value: { kind: 'served', served: current } };
          const reason = 'the access token expired and the provider issued no refresh token';
          return { update: { kind: 'disconnected', reason }, value: { kind: 'revoked', reason } };
        }
        try {
          const due: Due = { connection, key, record, current, expired, refreshToken };
          return this.refreshed(due, await provider.refresh(refreshToken));
        } catch (error) {
          if (!(error instanceof UpstreamError)) throw error;
          if (error.kind === 'rejected') {
            const reason = `the provider refused the refresh token: ${error.detail}`;
            return { update: { kind: 'disconnected', reason }, value: { kind: 'revoked', reason } };
          }
          return { value: this.refreshFailed({ connection, current, expired }, error) };
        }
      }),
    );
    switch (outcome.kind) {
      case 'served':
        return outcome.served;
      case 'missing':
        throw notConnected(connection);
      case 'revoked':
        this.logger.warn(`${connection.name}: a grant was marked disconnected: ${outcome.reason}`);
        // RFC 7009 at the provider, after the grant's lock is released.
        if (outcome.revoke) await this.connections.revokeQuietly(connection, outcome.revoke, 'of a dropped grant');
        throw reconnect(connection, outcome.reason);
      case 'unavailable':
        throw upstreamUnavailable(connection, outcome.error);
    }
  }

  /** What the provider answered a refresh with: stored and served, or refused (still under the lock). */
  private refreshed(due: Due, fresh: UpstreamAnswer): LockedWork {
    const { connection, key, record, current, refreshToken } = due;
    const beyond = beyondConnection(connection, fresh.scope ?? []);
    if (beyond.length > 0) {
      // As at connect (docs/token-vault.md): a grant wider than the connection's scopes is no
      // caller's to be served, so it is not kept; the user must reconnect.
      const reason = `the provider widened the grant at refresh beyond the connection's scopes: ${clip(beyond)}`;
      const revoke = {
        access_token: fresh.accessToken,
        token_type: fresh.tokenType,
        refresh_token: fresh.refreshToken ?? refreshToken,
      };
      return { update: { kind: 'disconnected', reason }, value: { kind: 'revoked', reason, revoke } };
    }
    if (fresh.unusable) {
      // docs/token-vault.md: an unexpected answer (not a Bearer token, an unbelievable expires_in) is
      // a failed refresh, its access token never served; but a rotated refresh token replaces the
      // spent one (RFC 6749 §6), so it is kept with the current access token, or the grant is lost.
      const rotated = fresh.refreshToken !== undefined && fresh.refreshToken !== refreshToken;
      const failure = new UpstreamError(
        'unavailable',
        `refresh: the provider answered a token the vault cannot keep: ${fresh.unusable.detail}${rotated ? '; its rotated refresh token is kept' : ''}`,
      );
      const value = this.refreshFailed(due, failure);
      if (!rotated) return { value };
      const kept: UpstreamTokens = { ...current.tokens, refresh_token: fresh.refreshToken, scopes: record.scopes };
      const sealed = sealJson(this.ring, kept, grantBinding(key));
      return { update: { kind: 'tokens', sealed, scopes: record.scopes, expiresAt: record.expiresAt }, value };
    }
    // RFC 6749 §6: a new refresh token replaces the old one (rotation); else the old one stays.
    const scopes = fresh.scope ?? record.scopes;
    const renewed = { access_token: fresh.accessToken, token_type: bearer(fresh.tokenType), scopes };
    const tokens: UpstreamTokens = { ...renewed, refresh_token: fresh.refreshToken ?? refreshToken };
    const sealed = sealJson(this.ring, tokens, grantBinding(key));
    return {
      update: { kind: 'tokens', sealed, scopes, expiresAt: fresh.expiresAt },
      value: { kind: 'served', served: { tokens, scopes, expiresAt: fresh.expiresAt } },
    };
  }

  /**
   * A refresh that failed (the provider down, or an unexpected answer): the current token, still
   * valid, is served until its expiry, never after.
   */
  private refreshFailed(
    { connection, current, expired }: Pick<Due, 'connection' | 'current' | 'expired'>,
    error: UpstreamError,
  ): Locked {
    if (expired) return { kind: 'unavailable', error };
    this.logger.warn(`${connection.name}: refresh failed, serving the current token until it expires: ${error.detail}`);
    return { kind: 'served', served: current };
  }
}

/**
 * The scopes of `granted` that are neither among the connection's `scopes` nor its `connect.extra_scopes`:
 * granted to no caller by any rule (docs/token-vault.md: `scopes` is the most any caller can ever get).
 */
export function beyondConnection(connection: LoadedConnection, granted: readonly string[]): string[] {
  const { scopes, connect } = connection.config;
  return granted.filter((s) => !scopes.includes(s) && !connect.extra_scopes.includes(s));
}

/** Scopes a provider named, for an operator's detail: bounded, since the provider chose them. */
export function clip(scopes: readonly string[]): string {
  const text = scopes.join(' ');
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}

/** RFC 6750 names the scheme `Bearer`; providers write it in any case. */
export function bearer(tokenType: string): string {
  return tokenType.toLowerCase() === 'bearer' ? 'Bearer' : tokenType;
}
