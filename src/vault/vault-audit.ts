import { Inject, Injectable } from '@nestjs/common';
import type { AuditActor } from '../audit/audit-record.js';
import { AUDIT_SINK, writeAuditLine, type AuditSink } from '../audit/audit-sink.js';
import { OAuthError } from '../oauth/oauth-error.js';

/** What is known about one request to a vault endpoint; never a token, a code or a secret. */
export interface VaultAuditRecord {
  request_id?: string;
  client_ip?: string;
  client_id?: string;
  client_authenticated: boolean;
  /** The user whose account is connected or disconnected. */
  subject?: AuditActor;
  connection?: string;
  scope?: string;
  /** Disconnect: whether the provider revoked the tokens (RFC 7009). */
  upstream_revoked?: boolean;
}

export type VaultEvent = 'vault.connect' | 'vault.callback' | 'vault.connect_complete' | 'vault.disconnect';

/**
 * One audit line per request to a vault endpoint (token exchanges through the vault are audited by the
 * token endpoint like any other): `outcome` says what happened, a refusal adds `error` and the
 * operator's `reason`.
 */
@Injectable()
export class VaultAudit {
  constructor(@Inject(AUDIT_SINK) private readonly sink: AuditSink) {}

  done(event: VaultEvent, outcome: string, record: VaultAuditRecord): void {
    writeAuditLine(this.sink, { ts: new Date().toISOString(), event, outcome, ...record });
  }

  refused(event: VaultEvent, record: VaultAuditRecord, error: unknown): void {
    const oauth = error instanceof OAuthError ? error : undefined;
    writeAuditLine(this.sink, {
      ts: new Date().toISOString(),
      event,
      outcome: 'refused',
      ...record,
      error: oauth?.error ?? 'server_error',
      reason: oauth ? (oauth.detail ?? oauth.description) : 'internal error',
    });
  }
}
