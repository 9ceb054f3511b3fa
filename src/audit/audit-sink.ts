import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import { ConfigError } from '../config/config-error.js';

/** Where audit lines go. One JSON object per line. */
export interface AuditSink {
  write(line: Readonly<Record<string, unknown>>): void;
  close?(): Promise<void>;
}

export const AUDIT_SINK = Symbol('AUDIT_SINK');

/** `stdout`, `stderr`, or a file path (appended to). */
export class StreamAuditSink implements AuditSink {
  private readonly file: WriteStream | undefined;

  constructor(private readonly target: string) {
    if (target !== 'stdout' && target !== 'stderr') {
      // Opened synchronously so an unwritable path stops startup instead of failing on the first line.
      let fd: number;
      try {
        fd = openSync(target, 'a');
      } catch (error) {
        throw new ConfigError(
          `AUDIT_LOG: cannot open ${target} for appending (${(error as NodeJS.ErrnoException).code})`,
        );
      }
      this.file = createWriteStream('', { fd });
      this.file.on('error', (error) => process.stderr.write(`actbridge: audit log write failed: ${error.message}\n`));
    }
  }

  write(line: Readonly<Record<string, unknown>>): void {
    const text = `${JSON.stringify(line)}\n`;
    if (this.file) this.file.write(text);
    else if (this.target === 'stderr') process.stderr.write(text);
    else process.stdout.write(text);
  }

  async close(): Promise<void> {
    const file = this.file;
    if (file) await new Promise<void>((resolve) => file.end(resolve));
  }
}

/** Keeps lines in memory; for tests and embedding. */
export class MemoryAuditSink implements AuditSink {
  readonly lines: Record<string, unknown>[] = [];

  write(line: Readonly<Record<string, unknown>>): void {
    this.lines.push({ ...line });
  }
}
