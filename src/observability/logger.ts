import type { LoggerService } from '@nestjs/common';
import { pino, type DestinationStream, type Level, type Logger } from 'pino';
import type { LogLevelSetting } from '../config/server-config.js';

export interface LoggerSettings {
  readonly level: LogLevelSetting;
  /** `json`, or `text`: one coloured line per entry for a person at a terminal. */
  readonly format: 'json' | 'text';
  /** Where lines go (default: stderr; stdout carries audit lines only). */
  readonly destination?: DestinationStream;
}

/**
 * The one application logger: JSON lines with standard level names (`"level":"info"`) and ISO-8601
 * times (`"time":"2026-05-10T22:13:01.000Z"`), on stderr. Nest's own messages reach it through
 * NestLogger; the access log writes through `access`.
 */
export class AppLogger {
  readonly pino: Logger;

  constructor(settings: LoggerSettings) {
    const destination =
      settings.destination ?? (settings.format === 'text' ? textDestination(process.stderr) : bufferedStderr());
    this.pino = pino(
      {
        level: settings.level === 'log' ? 'info' : settings.level,
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
        base: { pid: process.pid },
      },
      destination,
    );
  }

  /** One line per HTTP request (http/access-log.ts): never a header value, a body or a query string. */
  access(fields: Readonly<Record<string, unknown>>): void {
    this.pino.info(fields, 'request');
  }

  nest(): LoggerService {
    return new NestLogger(this.pino);
  }
}

/**
 * stderr written in chunks of up to 4 KiB, flushed at least every second (and synchronously on exit,
 * by pino): one access line per request would otherwise cost a write system call per request.
 */
function bufferedStderr(): DestinationStream {
  const stream = pino.destination({ dest: 2, sync: false, minLength: 4096 });
  setInterval(() => {
    if (!(stream as unknown as { destroyed?: boolean }).destroyed) stream.flush();
  }, 1000).unref();
  return stream;
}

/** Nest's LoggerService on pino: `context` becomes a field, `verbose` is trace. */
class NestLogger implements LoggerService {
  readonly log = this.at('info');
  readonly error = this.at('error');
  readonly warn = this.at('warn');
  readonly debug = this.at('debug');
  readonly verbose = this.at('trace');
  readonly fatal = this.at('fatal');

  constructor(private readonly logger: Logger) {}

  /** Nest's method for pino's `level`. */
  private at(level: Level): (message: unknown, ...params: unknown[]) => void {
    return (message, ...params) => this.write(level, message, params);
  }

  /** Nest passes `(message, context)`, or `(message, stack, context)` for errors. */
  private write(level: Level, message: unknown, params: unknown[]): void {
    if (!this.logger.isLevelEnabled(level)) return;
    const strings = params.filter((p): p is string => typeof p === 'string');
    const context = strings.length > 0 ? strings[strings.length - 1] : undefined;
    const stack = strings.length > 1 ? strings[0] : undefined;
    const fields: Record<string, unknown> = {};
    if (context) fields.context = context;
    if (stack) fields.stack = stack;
    if (message instanceof Error) {
      fields.err = { type: message.name, message: message.message, stack: message.stack };
      this.logger[level](fields, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.logger[level]({ ...fields, ...message });
    } else {
      this.logger[level](fields, String(message));
    }
    // Errors are written now, not with the next buffer of access lines.
    if (level === 'error' || level === 'fatal') this.logger.flush();
  }
}

const COLOURS: Record<string, string> = {
  fatal: '\u001b[35m',
  error: '\u001b[31m',
  warn: '\u001b[33m',
  info: '\u001b[32m',
  debug: '\u001b[36m',
  trace: '\u001b[90m',
};

/** `time LEVEL [context] message key=value...`, coloured on a terminal: for `start-dev` and TTYs. */
export function textDestination(out: NodeJS.WritableStream & { isTTY?: boolean }): DestinationStream {
  const colour = out.isTTY === true;
  return {
    write(line: string): void {
      const { time, level, msg, context, pid: _pid, stack, ...rest } = JSON.parse(line) as Record<string, unknown>;
      const name = String(level).toUpperCase().padEnd(5);
      const tag = colour ? `${COLOURS[String(level)] ?? ''}${name}\u001b[0m` : name;
      const extra = Object.entries(rest).map(([k, v]) => ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
      const where = context ? `[${String(context)}] ` : '';
      out.write(
        `${String(time)} ${tag} ${where}${String(msg ?? '')}${extra.join('')}\n${stack ? `${String(stack)}\n` : ''}`,
      );
    },
  };
}
