import { Inject, Injectable } from '@nestjs/common';
import { OAuthError } from '../oauth/oauth-error.js';
import type { AuditRecord } from './audit-record.js';
import { AUDIT_SINK, type AuditSink } from './audit-sink.js';
import { clock } from '../common/clock.js';

export interface RevocationAuditRecord {
  request_id?: string;
  /** The client that revoked (RFC 7009), or an admin client. */
  client_id?: string;
  /** client: the token's own client (RFC 7009); admin: an admin client over HTTP; operator: the CLI. */
  revoked_by: 'client' | 'admin' | 'operator';
  /** The CLI's user and host, for `revoked_by: operator`. */
  operator?: string;
  subject?: string;
  /** The revoked token's `jti`, when it is one of actbridge's tokens. */
  jti?: string;
  /** The revoked lineage key when it is not a `jti`: `root:<hash>` or `sub:<hash>`. */
  key?: string;
  exp: number;
  descendants_revoked: number;
}

/**
 * Writes the single audit line of each token request: `token.issued` from the token endpoint on
 * success, `token.refused` from the exception filter on any refusal; and `config.reloaded` when the
 * configuration in force changes.
 */
@Injectable()
export class AuditTrail {
  private readonly listeners: Array<(line: Readonly<Record<string, unknown>>) => void> = [];

  constructor(@Inject(AUDIT_SINK) private readonly sink: AuditSink) {}

  /** An in-process reader of every line as it is written (the playground shows a page its own lines). */
  listen(listener: (line: Readonly<Record<string, unknown>>) => void): void {
    this.listeners.push(listener);
  }

  issued(record: AuditRecord): void {
    this.write({ ts: clock.date().toISOString(), event: 'token.issued', outcome: 'issued', ...record });
  }

  /**
   * RFC 7009 or an operator: a token, root or subject was revoked, with every descendant (one line per
   * revocation that took effect; `descendants_revoked` counts the tokens the cascade reached).
   */
  revoked(record: RevocationAuditRecord): void {
    this.write({ ts: clock.date().toISOString(), event: 'token.revoked', outcome: 'revoked', ...record });
  }

  refused(record: AuditRecord, error: unknown): void {
    const oauth = error instanceof OAuthError ? error : undefined;
    this.write({
      ts: clock.date().toISOString(),
      event: 'token.refused',
      outcome: 'refused',
      ...record,
      error: oauth?.error ?? 'server_error',
      // The operator-facing reason: the internal detail when there is one, else what the caller was told.
      reason: oauth ? (oauth.detail ?? oauth.description) : 'internal error',
    });
  }

  /** The configuration in force was replaced (SIGHUP or a key re-read): what changed, by configured name. */
  configReloaded(record: { trigger: string; generation: number; changes: object }): void {
    this.write({ ts: clock.date().toISOString(), event: 'config.reloaded', outcome: 'reloaded', ...record });
  }

  private write(line: Readonly<Record<string, unknown>>): void {
    this.sink.write(line);
    for (const listener of this.listeners) listener(line);
  }
}
