import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { attachAuditRecord, newAuditRecord } from '../audit/audit-record.js';
import { ClientAuthenticator } from '../client-auth/client-authenticator.js';
import { SCOPE_LIST } from '../oauth/scope.js';
import { SERVER_CONFIG, type ServerConfig } from '../config/server-config.js';
import type { HttpRoute, RouteProvider } from '../http/http-route.js';
import { parseActChain } from '../delegation/act-chain.js';
import { InvalidRequest, InvalidScope } from '../oauth/oauth-error.js';
import { RevocationList } from '../subject-tokens/revocation-check.js';
import { SubjectTokenValidators } from '../subject-tokens/subject-token-validators.js';
import { formParamsOf, type TokenRequestParams } from '../oauth/request-params.js';
import { ConnectFlow, VAULT_CALLBACK_PATH } from './connect-flow.js';
import { VaultAudit, type VaultAuditRecord, type VaultEvent } from './vault-audit.js';

export const VAULT_CONNECT_PATH = '/vault/connect';
export const VAULT_COMPLETE_PATH = '/vault/connect/complete';
export const VAULT_DISCONNECT_PATH = '/vault/disconnect';

/** SAML Core §8.3.8: an identifier the relying party must treat as opaque and temporary. */
const TRANSIENT_NAME_ID = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';

/**
 * The token vault's HTTP endpoints (docs/token-vault.md). Connect, complete and disconnect are called
 * by an application: an authenticated client presenting its user's own token as `subject_token` in
 * the form body (never in a URL). The callback is where the provider sends the user's browser.
 */
@Injectable()
export class VaultRoutes implements RouteProvider {
  private readonly issuer: string;

  constructor(
    @Inject(SERVER_CONFIG) server: ServerConfig,
    private readonly clients: ClientAuthenticator,
    private readonly validators: SubjectTokenValidators,
    private readonly revocations: RevocationList,
    private readonly flow: ConnectFlow,
    private readonly audit: VaultAudit,
  ) {
    this.issuer = server.issuer;
  }

  routes(): HttpRoute[] {
    const headers = { 'cache-control': 'no-store' };
    // `audited`: a request refused before its handler (content type, body size, method, framing) has its line too.
    return [
      {
        name: 'vault connect',
        method: 'POST',
        path: VAULT_CONNECT_PATH,
        headers,
        audited: 'vault.connect',
        handle: (r) => this.connect(r),
      },
      {
        name: 'vault callback',
        method: 'GET',
        path: VAULT_CALLBACK_PATH,
        audited: 'vault.callback',
        // A HEAD (a link scanner, a prefetch) must not spend the user's flow.
        noHead: true,
        handle: (r, reply) => this.callback(r, reply),
      },
      {
        name: 'vault complete',
        method: 'POST',
        path: VAULT_COMPLETE_PATH,
        headers,
        audited: 'vault.connect_complete',
        handle: (r) => this.complete(r),
      },
      {
        name: 'vault disconnect',
        method: 'POST',
        path: VAULT_DISCONNECT_PATH,
        headers,
        audited: 'vault.disconnect',
        handle: (r) => this.disconnect(r),
      },
    ];
  }

  private connect(request: FastifyRequest): Promise<unknown> {
    return this.audited('vault.connect', 'started', request, async (params, record) => {
      const scope = params.single('scope');
      if (scope !== undefined && !SCOPE_LIST.test(scope)) {
        throw new InvalidScope('scope must be space-separated RFC 6749 scope-tokens');
      }
      const caller = await this.caller(request, params, record);
      return this.flow.start(caller, {
        connection: params.single('connection'),
        redirectUri: params.single('redirect_uri'),
        scope,
      });
    });
  }

  private async callback(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const record = newRecord(request);
    try {
      const url = request.url;
      const { location, refused } = await this.flow.callback(
        url.includes('?') ? url.slice(url.indexOf('?') + 1) : '',
        record,
      );
      if (refused) this.audit.done('vault.callback', `denied: ${refused}`, record);
      else this.audit.done('vault.callback', 'returned', record);
      // The connect code travels in the Location; no page of ours should pass it on as a Referer.
      void reply.code(303).headers({ location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' }).send();
    } catch (error) {
      this.audit.refused('vault.callback', record, error);
      throw error;
    }
  }

  private complete(request: FastifyRequest): Promise<unknown> {
    return this.audited('vault.connect_complete', 'connected', request, async (params, record) => {
      const caller = await this.caller(request, params, record);
      return this.flow.complete(caller, params.single('connect_code'));
    });
  }

  private disconnect(request: FastifyRequest): Promise<unknown> {
    return this.audited('vault.disconnect', 'disconnected', request, async (params, record) => {
      const caller = await this.caller(request, params, record);
      return this.flow.disconnect(caller, params.single('connection'));
    });
  }

  /** One audit line per request, success or refusal. */
  private async audited<T>(
    event: VaultEvent,
    outcome: string,
    request: FastifyRequest,
    handle: (params: TokenRequestParams, record: VaultAuditRecord) => Promise<T>,
  ): Promise<T> {
    const record = newRecord(request);
    try {
      const result = await handle(formParamsOf(request), record);
      this.audit.done(event, outcome, record);
      return result;
    } catch (error) {
      this.audit.refused(event, record, error);
      throw error;
    }
  }

  /** The authenticated client and its user, from the user's own (undelegated) token. */
  private async caller(request: FastifyRequest, params: TokenRequestParams, record: VaultAuditRecord) {
    const client = await this.clients.authenticate(params, request.headers.authorization, record);
    const token = params.single('subject_token');
    const type = params.single('subject_token_type');
    if (token === undefined) throw new InvalidRequest('subject_token is required');
    if (type === undefined) throw new InvalidRequest('subject_token_type is required');
    const subject = await this.validators.validate(type, token, { role: 'subject', client });
    record.subject = subject.principal;
    // SAML Core §8.3.8: a transient NameID is a temporary value; a grant kept under it (its tokens
    // included) could never be found, refreshed for or disconnected by the user again.
    if (subject.nameId?.format === TRANSIENT_NAME_ID) {
      throw new InvalidRequest(
        'subject_token names the user by a transient NameID, which could never name the account again',
      );
    }
    // An account is the user's to attach: through their own token, or one delegated to this very
    // application alone (actbridge records the client as the only actor); never through an agent's,
    // even one that passed the token back to the application (an earlier actor in the chain).
    if (subject.act !== undefined) {
      const chain = subject.anchor.self ? parseActChain(subject.act, 64) : undefined;
      const current = chain?.ok ? chain.act : undefined;
      if (current?.sub !== client.client_id || current.iss !== this.issuer) {
        throw new InvalidRequest(
          "subject_token must be the user's own token or one delegated to this client; its current actor is another",
        );
      }
      if (current.act !== undefined) {
        throw new InvalidRequest(
          "subject_token must be the user's own token or one delegated to this client; another actor acted on it before",
        );
      }
    }
    // RFC 9449 §6.1: a sender-constrained token is used only with a proof of its key, which these endpoints
    // do not take (nor bind anything to): refused as such, not with the token endpoint's "send a DPoP proof".
    if (subject.claims.cnf !== undefined) {
      throw new InvalidRequest(
        "subject_token is DPoP-bound (cnf); the vault's endpoints take no DPoP proof: present an unbound token",
      );
    }
    await this.revocations.assertNotRevoked(subject, token, 'subject');
    return { client, user: subject.principal, audit: record };
  }
}

/** The request's record, attached to it: the handler writes its line, the error mapping writes none again. */
function newRecord(request: FastifyRequest): VaultAuditRecord {
  const record = newAuditRecord(request);
  attachAuditRecord(request, record);
  return record;
}
