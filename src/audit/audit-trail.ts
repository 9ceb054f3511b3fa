import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { OAuthError } from '../oauth/oauth-error.js';
import { METRICS, type Metrics, type RefusalStep } from '../observability/metrics.js';
import { tagStep } from '../observability/tracing.js';
import type { AuditRecord } from './audit-record.js';
import { AUDIT_SINK, writeAuditLine, type AuditSink } from './audit-sink.js';
import { clock } from '../common/clock.js';

type Line = Record<string, unknown>;

/** The token vault's endpoints' events (docs/token-vault.md#audit); a refusal is the event with outcome `refused`. */
export type VaultEvent = 'vault.connect' | 'vault.callback' | 'vault.connect_complete' | 'vault.disconnect';

/** The endpoints that write audit lines; refusals are `<endpoint>.refused`, or a vault event `refused`. */
export type AuditedEndpoint = 'token' | 'introspection' | 'revocation' | VaultEvent;

export function isVaultEvent(endpoint: AuditedEndpoint): endpoint is VaultEvent {
  return endpoint.startsWith('vault.');
}

/** A request refused before it reached a route: what it was answered, for its audit line. */
export interface HttpRefusal {
  readonly status: number;
  readonly description: string;
  /** Node's code for what was wrong (HPE_HEADER_OVERFLOW, ERR_HTTP_REQUEST_TIMEOUT, ...), or the header at fault. */
  readonly code: string;
  readonly clientIp: string | undefined;
}

/** What a revocation that took effect revoked, and by whose hand. */
export interface RevocationFields {
  /**
   * client: the token's own client (RFC 7009); admin: an admin client over HTTP; operator: the CLI;
   * cascade: a descendant reached by completing a walk the store cut short (CascadeResumer).
   */
  revoked_by: 'client' | 'admin' | 'operator' | 'cascade';
  /** For `revoked_by: cascade`: the revoked key whose walk reached it (a `jti`, `root:…` or `sub:…`). */
  through?: string;
  /** The CLI's user and host, for `revoked_by: operator`. */
  operator?: string;
  subject?: string;
  /** The revoked token's `jti`, when it is one of actbridge's tokens. */
  jti?: string;
  /** The revoked lineage key when it is not a `jti`: `root:<hash>` or `sub:<hash>`. */
  key?: string;
  exp: number;
  /** How many descendants the cascade reached. */
  descendants_revoked: number;
}

/**
 * Writes the single audit line of each request to an audited endpoint: `token.issued` from the token
 * endpoint on success, `<endpoint>.refused` from the exception filter on any refusal, `token.introspected`
 * and `token.revoked` (with the cascade's count); `config.reloaded` when the configuration in force
 * changes. Every request line says when (`ts`), who called from where (`client_ip`, `user_agent`),
 * how long it took (`latency_ms`) and its trace (`trace_id`). A line that cannot be written throws
 * `temporarily_unavailable`: nothing is handed out unaudited. The token endpoint's metrics are counted
 * here too, so that they and the audit trail never disagree.
 */
@Injectable()
export class AuditTrail {
  private readonly listeners: Array<(line: Readonly<Line>) => void> = [];
  private readonly logger = new Logger('AuditTrail');

  constructor(
    @Inject(AUDIT_SINK) private readonly sink: AuditSink,
    @Optional() @Inject(METRICS) private readonly metrics?: Metrics,
  ) {}

  /** An in-process reader of every line as it is written (the playground shows a page its own lines). */
  listen(listener: (line: Readonly<Line>) => void): void {
    this.listeners.push(listener);
  }

  issued(record: AuditRecord): void {
    const line = this.line('token.issued', 'issued', record);
    this.write(line);
    this.metrics?.tokenRequest({
      grantType: record.grant_type,
      clientId: record.client_id,
      error: undefined,
      seconds: (line.latency_ms as number) / 1000,
    });
    this.metrics?.tokenIssued(
      record.anchor,
      record.client_id,
      record.issued_token_type,
      record.connection !== undefined,
    );
  }

  /** The configuration in force was replaced (SIGHUP or a key re-read): what changed, by configured name. */
  configReloaded(record: { trigger: string; generation: number; changes: object }): void {
    this.write({ ts: clock.date().toISOString(), event: 'config.reloaded', outcome: 'reloaded', ...record });
  }

  /**
   * A request refused before it reached a route (Node's HTTP parser: bad framing, headers too large,
   * headers not in within HEADERS_TIMEOUT_MS): no client, no token, but a refusal all the same. It is
   * answered already, so a line that cannot be written is logged, not turned into another answer.
   */
  httpRefused(refusal: HttpRefusal): void {
    const line: Line = {
      ts: clock.date().toISOString(),
      event: 'http.refused',
      outcome: 'refused',
      request_id: randomUUID(),
      ...(refusal.clientIp === undefined ? {} : { client_ip: refusal.clientIp }),
      status: refusal.status,
      error: 'invalid_request',
      reason: `${refusal.description} (${refusal.code})`,
    };
    try {
      this.write(line);
    } catch {
      // write() counted and logged it.
    }
  }

  /** RFC 7662: an introspection answered (`active` says whether the token was live and the caller a party to it). */
  introspected(record: AuditRecord, active: boolean, token?: { jti?: unknown; sub?: unknown }): void {
    const line = this.line('token.introspected', active ? 'active' : 'inactive', record);
    line.active = active;
    if (active && typeof token?.jti === 'string') line.jti = token.jti;
    if (active && typeof token?.sub === 'string') line.subject = token.sub;
    this.write(line);
  }

  /**
   * A token, root or subject revoked with every descendant (RFC 7009, an admin client or the operator's
   * CLI, which has no request: an empty record); `token.revocation_ignored` when the token was no live
   * actbridge token (answered 200 all the same, RFC 7009 §2.2).
   */
  revoked(record: AuditRecord, revoked?: RevocationFields): void {
    if (!revoked) return this.write(this.line('token.revocation_ignored', 'ignored', record));
    this.write(Object.assign(this.line('token.revoked', 'revoked', record), revoked));
  }

  /**
   * A vault endpoint's line, as vault-audit.ts builds it; written as every request line is, so a write
   * that fails is logged and counted (`actbridge_audit_write_failures_total`) before the 503.
   */
  vaultLine(line: Readonly<Line>): void {
    this.write(line);
  }

  refused(record: AuditRecord, error: unknown, step: RefusalStep, endpoint: AuditedEndpoint = 'token'): void {
    const oauth = error instanceof OAuthError ? error : undefined;
    const vault = isVaultEvent(endpoint);
    const line = this.line(vault ? endpoint : `${endpoint}.refused`, 'refused', record);
    line.error = oauth?.error ?? 'server_error';
    // A vault line has no step, like those its endpoints write (vault-audit.ts).
    if (!vault) line.step = step;
    // The operator-facing reason: the internal detail when there is one, else what the caller was told.
    line.reason = oauth ? (oauth.detail ?? oauth.description) : 'internal error';
    this.write(line);
    if (vault) this.metrics?.vaultRequest(endpoint, 'refused', line.error as string);
    if (endpoint !== 'token') return;
    this.metrics?.tokenRequest({
      grantType: record.grant_type,
      clientId: record.client_id,
      error: line.error as string,
      seconds: (line.latency_ms as number) / 1000,
    });
    this.metrics?.tokenRefused(step, line.error as string);
  }

  private line(event: string, outcome: string, record: AuditRecord): Line {
    const { started, ...fields } = record;
    const line: Line = { ts: clock.date().toISOString(), event, outcome, ...fields };
    if (started !== undefined) line.latency_ms = Math.round((performance.now() - started) * 1000) / 1000;
    return line;
  }

  private write(line: Readonly<Line>): void {
    try {
      writeAuditLine(this.sink, line);
    } catch (refusal) {
      this.metrics?.auditWriteFailed();
      this.logger.error(`audit line not written, request refused: ${(refusal as OAuthError).detail}`);
      tagStep(refusal, 'audit');
      throw refusal;
    }
    for (const listener of this.listeners) listener(line);
  }
}
