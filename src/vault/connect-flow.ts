import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import * as oidc from 'openid-client';
import type { ClientConfig } from '../clients/client.config.js';
import { SERVER_CONFIG, type ServerConfig } from '../config/server-config.js';
import { endpointUrl } from '../oauth/endpoint-paths.js';
import {
  InvalidGrant,
  InvalidRequest,
  InvalidScope,
  TemporarilyUnavailable,
  UnauthorizedClient,
} from '../oauth/oauth-error.js';
import type { Principal } from '../subject-tokens/validated-token.js';
import { openJson, sealJson, VaultDecryptionError } from './envelope.js';
import type { KeyRing } from './key-ring.js';
import { beyondConnection, clip, VAULT_KEY_RING } from './token-vault.js';
import type { UpstreamAnswer, UpstreamTokenResponse } from './upstream-provider.js';
import type { VaultAuditRecord } from './vault-audit.js';
import type { LoadedConnection } from './vault-config.js';
import { VaultConnections } from './vault-connections.js';
import { openTokens, providerCall, responseIssuerProblem, vaultStoreCall } from './vault-errors.js';
import { namedInRefusal } from '../oauth/scope.js';
import {
  grantBinding,
  nowSeconds,
  pendingBinding,
  scopesAsSealed,
  VAULT_STORE,
  type ConnectSecrets,
  type GrantKey,
  type PendingConnect,
  type UpstreamTokens,
  type VaultStore,
} from './vault-store.js';

/** Where the provider sends the browser back (register `<ISSUER>/vault/callback` at the provider). */
export const VAULT_CALLBACK_PATH = '/vault/callback';

interface Caller {
  readonly client: ClientConfig;
  readonly user: Principal;
  readonly audit: VaultAuditRecord;
}

/**
 * Connecting a user's account at a provider, in three steps that keep the user, the browser and the
 * application bound together:
 * 1. `start`: the application (an authenticated client) presents the user's token; actbridge answers
 *    the provider's authorization URL (authorization code with PKCE S256, state, and a nonce for OpenID).
 * 2. `callback`: the provider sends the browser back; actbridge records the response and sends the
 *    browser on to the application's redirect_uri with a one-time `connect_code`.
 * 3. `complete`: the application presents the user's token again with that code; only then is the code
 *    redeemed and the grant stored. A browser lured through someone else's flow lands at an application
 *    whose user does not match, so no account is ever attached to the wrong user.
 */
@Injectable()
export class ConnectFlow {
  private readonly logger = new Logger('TokenVault');
  private readonly callbackUrl: string;
  private readonly ttl: number;

  constructor(
    @Inject(SERVER_CONFIG) server: ServerConfig,
    private readonly connections: VaultConnections,
    @Inject(VAULT_STORE) private readonly store: VaultStore,
    @Inject(VAULT_KEY_RING) private readonly ring: KeyRing,
  ) {
    this.callbackUrl = endpointUrl(server.issuer, VAULT_CALLBACK_PATH);
    this.ttl = server.vaultConnectTtl;
  }

  async start(
    { client, user, audit }: Caller,
    params: { connection?: string; redirectUri?: string; scope?: string },
  ): Promise<{ authorization_url: string; expires_in: number }> {
    const connection = this.connectionFor(params.connection, client, audit);
    const registered = connection.config.connect.redirect_uris;
    const redirectUri = params.redirectUri ?? (registered.length === 1 ? registered[0] : undefined);
    if (redirectUri === undefined) throw new InvalidRequest('redirect_uri is required');
    if (!registered.includes(redirectUri)) {
      throw new InvalidRequest('redirect_uri is not registered for this connection', {
        detail: `redirect_uri ${JSON.stringify(redirectUri.slice(0, 200))} is not in ${connection.file}`,
      });
    }
    const asked = params.scope === undefined ? connection.config.scopes : params.scope.split(' ');
    const unknown = asked.filter((s) => !connection.config.scopes.includes(s));
    if (unknown.length > 0) {
      throw new InvalidScope('scope exceeds what the connection offers', {
        detail: `not among the scopes of ${connection.name}: ${namedInRefusal(unknown).join(' ')}`,
      });
    }
    const scopes = [...new Set([...asked, ...connection.config.connect.extra_scopes])];
    audit.scope = scopes.join(' ');

    const state = oidc.randomState();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    // OpenID Connect Core §3.1.2.1: a nonce binds the id_token to this request.
    const nonce = scopes.includes('openid') ? oidc.randomNonce() : undefined;
    const url = await providerCall(connection, 'authorization URL', async () =>
      this.connections.provider(connection).authorizationUrl({
        response_type: 'code',
        redirect_uri: this.callbackUrl,
        scope: scopes.join(' '),
        state,
        // RFC 7636 §4.2: S256 only.
        code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        ...(nonce === undefined ? {} : { nonce }),
      }),
    );
    const pending = {
      stateHash: digest(state),
      connection: connection.name,
      user,
      clientId: client.client_id,
      redirectUri,
      scopes,
      expiresAt: nowSeconds() + this.ttl,
    };
    const secrets: ConnectSecrets = { state, codeVerifier, scopes, ...(nonce === undefined ? {} : { nonce }) };
    await vaultStoreCall(() =>
      this.store.savePending({ ...pending, sealed: sealJson(this.ring, secrets, pendingBinding(pending)) }),
    );
    return { authorization_url: url.href, expires_in: this.ttl };
  }

  /**
   * The provider's redirect: returns where to send the browser (the application's redirect_uri), and
   * the provider's error code when the user (or the provider) refused.
   */
  async callback(query: string, audit: VaultAuditRecord): Promise<{ location: string; refused?: string }> {
    const params = new URLSearchParams(query);
    const state = single(params, 'state');
    if (state === undefined) throw new InvalidRequest('state is required');
    const pending = await vaultStoreCall(() => this.store.findPendingByState(digest(state)));
    if (!pending) throw new InvalidRequest('unknown or expired connect request');
    audit.client_id = pending.clientId;
    audit.subject = pending.user;
    audit.connection = pending.connection;
    audit.scope = pending.scopes.join(' ');
    const connection = this.connections.named(pending.connection);
    // RFC 6749 §4.1.2.1: the browser is never sent to a redirection URI that is not registered, as it
    // may no longer be since the flow started (the configuration changed); the flow cannot finish.
    if (!connection?.config.connect.redirect_uris.includes(pending.redirectUri)) {
      await vaultStoreCall(() => this.store.removePending(pending.stateHash));
      throw new InvalidRequest('the redirect_uri of this connect request is no longer registered for its connection', {
        detail: `redirect_uri ${JSON.stringify(pending.redirectUri)} is no longer in ${connection?.file ?? `the connections (no connection ${pending.connection})`}`,
      });
    }
    // RFC 9207 §2.4: checked before anything else of the response (the flow is kept).
    const mixedUp = await responseIssuerProblem(connection, single(params, 'iss'), () =>
      providerCall(connection, 'discovery', () => this.connections.provider(connection).sendsIssuer()),
    );
    if (mixedUp) throw mixedUp;
    const back = new URL(pending.redirectUri);
    back.searchParams.set('connection', pending.connection);
    const error = single(params, 'error');
    if (error !== undefined) {
      // RFC 6749 §4.1.2.1: the provider's refusal goes back to the application, as a code only.
      await vaultStoreCall(() => this.store.removePending(pending.stateHash));
      const code = /^[a-z_]{1,64}$/.test(error) ? error : 'access_denied';
      back.searchParams.set('error', code);
      return { location: back.href, refused: code };
    }
    if (single(params, 'code') === undefined) throw new InvalidRequest('code is required');
    const secrets = await vaultStoreCall(async () =>
      openJson<ConnectSecrets>(this.ring, pending.sealed, pendingBinding(pending)),
    );
    const connectCode = randomBytes(32).toString('base64url');
    const sealed = sealJson(this.ring, { ...secrets, callbackQuery: query }, pendingBinding(pending));
    const marked = await vaultStoreCall(() => this.store.markReturned(pending.stateHash, digest(connectCode), sealed));
    if (!marked) throw new InvalidRequest('unknown or expired connect request');
    back.searchParams.set('connect_code', connectCode);
    return { location: back.href };
  }

  async complete({ client, user, audit }: Caller, connectCode: string | undefined): Promise<Record<string, unknown>> {
    if (connectCode === undefined) throw new InvalidRequest('connect_code is required');
    const pending = await vaultStoreCall(() => this.store.takePendingByCode(digest(connectCode)));
    if (!pending) throw new InvalidGrant('connect_code is invalid, expired or already used');
    audit.connection = pending.connection;
    // The code is single use: taken above whether or not it fits this caller.
    if (pending.clientId !== client.client_id) {
      throw new InvalidGrant('connect_code was not issued to this client', { detail: `issued to ${pending.clientId}` });
    }
    if (pending.user.iss !== user.iss || pending.user.sub !== user.sub) {
      throw new InvalidGrant('connect_code was issued for another user', {
        detail: `started for ${pending.user.sub} (${pending.user.iss})`,
      });
    }
    const connection = this.connections.named(pending.connection);
    if (!connection) throw new InvalidGrant('connect_code names a connection that is no longer configured');
    if (!connection.config.connect.clients.includes(client.client_id)) {
      throw new UnauthorizedClient('this client may not connect accounts for this connection');
    }
    const secrets = await vaultStoreCall(async () => {
      const opened = openJson<ConnectSecrets>(this.ring, pending.sealed, pendingBinding(pending));
      // RFC 6749 §5.1: an answer without scope grants what was asked, read from the flow's `scopes` column,
      // which must say what was sealed, or a row edited in the database would store a token as narrower.
      if (!scopesAsSealed(opened, pending.scopes)) {
        throw new VaultDecryptionError("the connect request's scopes are not those sealed with it (tampered)");
      }
      return opened;
    });
    if (secrets.callbackQuery === undefined) throw new InvalidGrant('connect_code is invalid, expired or already used');
    const usable = secrets.answer ?? (await this.redeem(connection, pending, secrets, connectCode));
    const scopes = usable.scope ?? pending.scopes;
    await this.save({ connection: connection.name, user }, usable, scopes).catch(async (error: unknown) => {
      // The provider's code is spent: its answer is kept with the flow, so the same completion stores it once the
      // database answers (RFC 6749 §5.2 temporarily_unavailable says "retry later").
      if (error instanceof TemporarilyUnavailable)
        await this.restore(pending, connectCode, { ...secrets, answer: usable });
      throw error;
    });
    audit.scope = scopes.join(' ');
    const expiresIn = usable.expiresAt === null ? undefined : Math.max(0, usable.expiresAt - nowSeconds());
    return {
      connection: connection.name,
      scope: scopes.join(' '),
      refreshable: usable.refreshToken !== undefined,
      ...(expiresIn === undefined ? {} : { expires_in: expiresIn }),
    };
  }

  /** The provider's answer to the flow's code, refused unless the vault can keep it. */
  private async redeem(
    connection: LoadedConnection,
    pending: PendingConnect,
    secrets: ConnectSecrets,
    connectCode: string,
  ): Promise<UpstreamTokenResponse> {
    const callback = new URL(`${this.callbackUrl}?${secrets.callbackQuery}`);
    const response = await providerCall(connection, 'authorization code', () =>
      this.connections.provider(connection).redeemCode(callback, {
        state: secrets.state,
        codeVerifier: secrets.codeVerifier,
        ...(secrets.nonce === undefined ? {} : { nonce: secrets.nonce }),
      }),
    ).catch(async (error: unknown) => {
      // RFC 6749 §5.2 temporarily_unavailable says "retry later": the flow is put back under its connect
      // code, so the same completion can redeem the provider's code once the provider answers.
      if (error instanceof TemporarilyUnavailable) await this.restore(pending, connectCode);
      throw error;
    });
    return this.keepable(connection, response, response.scope ?? pending.scopes);
  }

  /** A flow taken by its connect code, stored again under it (its callback recorded, and `secrets` when new). */
  private async restore(
    { connectCodeHash: _taken, ...flow }: PendingConnect,
    connectCode: string,
    secrets?: ConnectSecrets,
  ): Promise<void> {
    const sealed = secrets === undefined ? flow.sealed : sealJson(this.ring, secrets, pendingBinding(flow));
    await vaultStoreCall(async () => {
      await this.store.savePending(flow);
      await this.store.markReturned(flow.stateHash, digest(connectCode), sealed);
    });
  }

  /** The provider's answer to the code, refused unless the vault can keep its token as it is. */
  private async keepable(
    connection: LoadedConnection,
    response: UpstreamAnswer,
    scopes: readonly string[],
  ): Promise<UpstreamTokenResponse> {
    const beyond = beyondConnection(connection, scopes);
    if (beyond.length > 0) {
      // docs/token-vault.md: `scopes` is the most any caller can ever get; a grant beyond it (and the
      // extra_scopes actbridge asked for) could serve no caller, so it is not kept, and ended upstream.
      const tokens = {
        access_token: response.accessToken,
        ...(response.refreshToken === undefined ? {} : { refresh_token: response.refreshToken }),
      };
      const revoked = await this.connections.revokeQuietly(connection, tokens, 'of a refused grant');
      throw new InvalidGrant(
        `the provider granted scopes the connection does not offer, so the account was not connected: ${described(beyond)}`,
        {
          detail: `${connection.name} granted scopes beyond scopes and connect.extra_scopes of ${connection.file}: ${clip(beyond)}; upstream_revoked: ${revoked}`,
        },
      );
    }
    if (response.unusable) {
      // Not a Bearer token, or an unbelievable expires_in (reduce()): not stored; the code is spent,
      // so the user starts again.
      throw new InvalidGrant(`the provider issued a token the vault cannot keep (${response.unusable.reason})`, {
        detail: response.unusable.detail,
      });
    }
    return response;
  }

  /** Deletes the user's grant, then revokes its tokens at the provider (RFC 7009) where it can. */
  async disconnect({ client, user, audit }: Caller, name: string | undefined): Promise<Record<string, unknown>> {
    const connection = this.connectionFor(name, client, audit);
    const key: GrantKey = { connection: connection.name, user };
    const record = await vaultStoreCall(() => this.store.remove(key));
    if (record) audit.scope = record.scopes.join(' ');
    let revoked = false;
    try {
      if (record?.sealed)
        revoked = await this.connections.revokeQuietly(connection, openTokens(this.ring, record), 'at disconnect');
    } catch (error) {
      // Its key left VAULT_KEYS: the grant is deleted all the same, which a 503 "retry later" would misreport.
      if (!(error instanceof VaultDecryptionError)) throw error;
      this.logger.warn(
        `${connection.name}: the disconnected grant's tokens cannot be opened to revoke them: ${error.message}`,
      );
    }
    audit.upstream_revoked = revoked;
    return { connection: connection.name, disconnected: record !== undefined, upstream_revoked: revoked };
  }

  private async save(key: GrantKey, response: UpstreamTokenResponse, scopes: readonly string[]): Promise<void> {
    const tokens: UpstreamTokens = {
      access_token: response.accessToken,
      token_type: 'Bearer',
      ...(response.refreshToken === undefined ? {} : { refresh_token: response.refreshToken }),
      scopes,
    };
    const sealed = sealJson(this.ring, tokens, grantBinding(key));
    await vaultStoreCall(() => this.store.save(key, { kind: 'tokens', sealed, scopes, expiresAt: response.expiresAt }));
  }

  private connectionFor(name: string | undefined, client: ClientConfig, audit: VaultAuditRecord): LoadedConnection {
    if (name === undefined) throw new InvalidRequest('connection is required');
    const connection = this.connections.named(name);
    if (!connection)
      throw new InvalidRequest('unknown connection', { detail: `connection ${JSON.stringify(name.slice(0, 64))}` });
    audit.connection = connection.name;
    if (!connection.config.connect.clients.includes(client.client_id)) {
      throw new UnauthorizedClient('this client may not connect accounts for this connection', {
        detail: `client ${client.client_id} is not among connect.clients of ${connection.file}`,
      });
    }
    return connection;
  }
}

/** SHA-256, base64url: what the store keeps of a state or connect code (they are bearer secrets). */
function digest(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

/** Scopes a provider named, fit for an error_description (RFC 6749 §5.2's characters) and short. */
function described(scopes: readonly string[]): string {
  const text = scopes.map((s) => s.replace(/[^\x21\x23-\x5b\x5d-\x7e]/g, '?')).join(' ');
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

function single(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name);
  if (values.length > 1) throw new InvalidRequest(`parameter ${name} is repeated`);
  return values[0] || undefined;
}
