import { closeSync, openSync, writeSync } from 'node:fs';
import { ConfigError } from '../config/config-error.js';
import { TemporarilyUnavailable } from '../oauth/oauth-error.js';
import { formatAuditLine, type AuditFormat } from './audit-format.js';

/**
 * Where audit lines go. `write` returns once the line is written, or throws AuditWriteError: the
 * caller then refuses the request (503) rather than act unaudited.
 */
export interface AuditSink {
  write(line: Readonly<Record<string, unknown>>): void;
  close?(): Promise<void>;
  /** Whether lines can be written now (readiness): a sink that cannot refuses every audited request. */
  health?(): AuditSinkHealth;
}

export interface AuditSinkHealth {
  readonly status: 'up' | 'down';
  /** Why not (the file and the cause), when down. */
  readonly error?: string;
}

/**
 * How long a failed write keeps the sink down for readiness. Nothing else says a full disk has room
 * again: an instance not ready receives no request to try, so it is tried again once this has passed.
 */
export const AUDIT_FAILURE_HOLD_MS = 5000;

export const AUDIT_SINK = Symbol('AUDIT_SINK');

/** An audit line could not be written (disk full, file unwritable, reopen after rotation failed). */
export class AuditWriteError extends Error {
  override readonly name = 'AuditWriteError';
}

/**
 * Writes `line`, or throws `temporarily_unavailable` (503) when it cannot be kept: the one way every
 * audited request fails closed on a broken audit trail.
 */
export function writeAuditLine(sink: AuditSink, line: Readonly<Record<string, unknown>>): void {
  try {
    sink.write(line);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new TemporarilyUnavailable('audit log unavailable', { detail, headers: { 'retry-after': '1' } });
  }
}

const STREAMS = ['stdout', 'stderr'] as const;

/** AUDIT_LOG's parts: at most one stream and one file path (`actbridge validate` checks it the same way). */
export function auditTargets(target: string): { stream?: (typeof STREAMS)[number]; file?: string } {
  const parts = target.split(',').map((part) => part.trim());
  const streams = parts.filter((p) => (STREAMS as readonly string[]).includes(p));
  const files = parts.filter((p) => !(STREAMS as readonly string[]).includes(p));
  if (streams.length > 1 || files.length > 1 || parts.some((p) => p === '')) {
    throw new ConfigError(`environment: AUDIT_LOG: at most one of stdout/stderr and one file path (${target})`);
  }
  // `STDOUT` would be a file of that name in the working directory, where no log collector reads the audit.
  const miscased = files.find((p) => (STREAMS as readonly string[]).includes(p.toLowerCase()));
  if (miscased !== undefined) {
    throw new ConfigError(
      `environment: AUDIT_LOG: ${miscased} is not a stream; write ${miscased.toLowerCase()}, or ./${miscased} for a file of that name`,
    );
  }
  return {
    ...(streams[0] ? { stream: streams[0] as (typeof STREAMS)[number] } : {}),
    ...(files[0] ? { file: files[0] } : {}),
  };
}

/**
 * AUDIT_LOG: `stdout`, `stderr`, a file path, or a stream and a file separated by a comma. The file
 * is written synchronously (a line is on disk, or the write threw, before the response goes out) and
 * reopened on SIGHUP for log rotation. Application logs go to stderr, so with `stdout` or a file the
 * audit lines are never mixed with them.
 */
export class StreamAuditSink implements AuditSink {
  private readonly file: AuditFile | undefined;
  private readonly stream: NodeJS.WriteStream | undefined;

  constructor(
    target: string,
    private readonly format: AuditFormat = 'json',
  ) {
    const { stream, file } = auditTargets(target);
    if (stream) this.stream = stream === 'stderr' ? process.stderr : process.stdout;
    if (file) this.file = new AuditFile(file);
  }

  write(line: Readonly<Record<string, unknown>>): void {
    const text = `${formatAuditLine(line, this.format)}\n`;
    // The file first: a line that cannot be kept must not appear to have been written anywhere.
    this.file?.write(text);
    this.stream?.write(text);
  }

  health(): AuditSinkHealth {
    return this.file?.health() ?? { status: 'up' };
  }

  async close(): Promise<void> {
    this.file?.close();
  }
}

/** An append-only audit file: synchronous writes, reopened on SIGHUP (logrotate's `postrotate`). */
class AuditFile {
  private fd: number | undefined;
  private failure: { readonly at: number; readonly error: string } | undefined;
  private readonly onHangup = (): void => this.reopen();

  constructor(private readonly path: string) {
    // Opened now so an unwritable path stops startup instead of failing the first request.
    try {
      this.fd = openSync(path, 'a', 0o600);
    } catch (error) {
      throw new ConfigError(`AUDIT_LOG: cannot open ${path} for appending (${codeOf(error)})`);
    }
    process.on('SIGHUP', this.onHangup);
  }

  write(text: string): void {
    // After a failed reopen, every write tries again: fixing the directory is enough to recover.
    if (this.fd === undefined && !this.open(false)) {
      throw this.failed(`audit log ${this.path} is not open (reopen failed)`);
    }
    const bytes = Buffer.from(text);
    try {
      let written = 0;
      while (written < bytes.length) written += writeSync(this.fd!, bytes, written);
    } catch (error) {
      throw this.failed(`audit log ${this.path}: write failed (${codeOf(error)})`, error);
    }
    this.failure = undefined;
  }

  /** Down while the file cannot be opened, or for AUDIT_FAILURE_HOLD_MS after a write failed. */
  health(): AuditSinkHealth {
    if (this.fd === undefined && !this.open(false)) {
      return { status: 'down', error: `audit log ${this.path} cannot be opened` };
    }
    if (this.failure && Date.now() - this.failure.at < AUDIT_FAILURE_HOLD_MS) {
      return { status: 'down', error: this.failure.error };
    }
    return { status: 'up' };
  }

  private failed(error: string, cause?: unknown): AuditWriteError {
    this.failure = { at: Date.now(), error };
    return new AuditWriteError(error, cause === undefined ? undefined : { cause });
  }

  /** A new file at the path, the rotated one closed. Until a reopen succeeds, requests fail closed. */
  reopen(): void {
    this.closeFd();
    if (this.open()) process.stderr.write(`actbridge: audit log ${this.path} reopened\n`);
  }

  close(): void {
    process.off('SIGHUP', this.onHangup);
    this.closeFd();
  }

  /** Opens the path; a failure is reported on a reopen (each refused request is logged where it is refused). */
  private open(report = true): boolean {
    try {
      this.fd = openSync(this.path, 'a', 0o600);
      // A write that failed for want of the file (not open) is mended by opening it.
      this.failure = undefined;
      return true;
    } catch (error) {
      if (report) process.stderr.write(`actbridge: audit log ${this.path} cannot be opened (${codeOf(error)})\n`);
      return false;
    }
  }

  private closeFd(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // Already gone: nothing left to flush (writes are synchronous).
    }
    this.fd = undefined;
  }
}

function codeOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'error';
}

/** Keeps lines in memory; for tests and embedding. */
export class MemoryAuditSink implements AuditSink {
  readonly lines: Record<string, unknown>[] = [];

  write(line: Readonly<Record<string, unknown>>): void {
    this.lines.push({ ...line });
  }
}
