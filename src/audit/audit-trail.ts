import { Inject, Injectable } from '@nestjs/common';
import { OAuthError } from '../oauth/oauth-error.js';
import type { AuditRecord } from './audit-record.js';
import { AUDIT_SINK, type AuditSink } from './audit-sink.js';
import { clock } from '../common/clock.js';

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

  /** RFC 7009: a token was revoked (one line per revocation that took effect). */
  revoked(record: { request_id?: string; client_id: string; subject: string; jti: string; exp: number }): void {
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
