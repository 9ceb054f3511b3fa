import { Inject, Injectable, Optional } from '@nestjs/common';
import { METRICS, type Metrics } from '../observability/metrics.js';
import type { AuditActor } from '../audit/audit-record.js';
import { AuditTrail, type VaultEvent } from '../audit/audit-trail.js';
import { OAuthError } from '../oauth/oauth-error.js';

/** What is known about one request to a vault endpoint; never a token, a code or a secret. */
export interface VaultAuditRecord {
  request_id?: string;
  client_ip?: string;
  client_id?: string;
  client_authenticated: boolean;
  /** As on every request line (docs/audit.md): the caller's User-Agent (capped) and trace id. */
  user_agent?: string;
  trace_id?: string;
  /** When the request reached its handler (`performance.now()`): the line's `latency_ms` counts from it. */
  started?: number;
  /** The user whose account is connected or disconnected. */
  subject?: AuditActor;
  connection?: string;
  scope?: string;
  /** Disconnect: whether the provider revoked the tokens (RFC 7009). */
  upstream_revoked?: boolean;
}

export type { VaultEvent };

/**
 * One audit line per request to a vault endpoint (token exchanges through the vault are audited by the
 * token endpoint like any other): `outcome` says what happened, a refusal adds `error` and the
 * operator's `reason`.
 */
@Injectable()
export class VaultAudit {
  constructor(
    private readonly trail: AuditTrail,
    @Optional() @Inject(METRICS) private readonly metrics?: Metrics,
  ) {}

  // Written through the audit trail: a line that cannot be written is logged and counted there, as every request's.
  done(event: VaultEvent, outcome: string, record: VaultAuditRecord): void {
    this.trail.vaultLine({ ts: new Date().toISOString(), event, outcome, ...fieldsOf(record) });
    this.metrics?.vaultRequest(event, outcome);
  }

  refused(event: VaultEvent, record: VaultAuditRecord, error: unknown): void {
    const oauth = error instanceof OAuthError ? error : undefined;
    const code = oauth?.error ?? 'server_error';
    this.trail.vaultLine({
      ts: new Date().toISOString(),
      event,
      outcome: 'refused',
      ...fieldsOf(record),
      error: code,
      reason: oauth ? (oauth.detail ?? oauth.description) : 'internal error',
    });
    this.metrics?.vaultRequest(event, 'refused', code);
  }
}

/** The record's fields for its line, `started` turned into `latency_ms` as on every request line. */
function fieldsOf(record: VaultAuditRecord): Record<string, unknown> {
  const { started, ...fields } = record;
  if (started === undefined) return fields;
  return { ...fields, latency_ms: Math.round((performance.now() - started) * 1000) / 1000 };
}
