import { describe, expect, it } from '@jest/globals';
import { AppLogger, textDestination } from './logger.js';

function memory(): { lines: Array<Record<string, unknown>>; destination: { write(line: string): void } } {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, destination: { write: (line: string) => void lines.push(JSON.parse(line)) } };
}

describe('AppLogger', () => {
  it('writes JSON with standard level names and ISO-8601 times; Nest contexts become a field', () => {
    const { lines, destination } = memory();
    const nest = new AppLogger({ level: 'info', format: 'json', destination }).nest();
    nest.log('listening', 'actbridge');
    nest.warn('slow upstream', 'TrustAnchor:corp');
    nest.error('boom', 'Error: boom\n    at x', 'OAuthExceptionFilter');
    nest.debug!('hidden at info', 'X');
    expect(lines.map(({ time: _t, pid: _p, ...rest }) => rest)).toEqual([
      { level: 'info', context: 'actbridge', msg: 'listening' },
      { level: 'warn', context: 'TrustAnchor:corp', msg: 'slow upstream' },
      { level: 'error', context: 'OAuthExceptionFilter', stack: 'Error: boom\n    at x', msg: 'boom' },
    ]);
    expect(lines[0]!.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('accepts LOG_LEVEL=log as info, and debug shows debug', () => {
    const info = memory();
    new AppLogger({ level: 'log', format: 'json', destination: info.destination }).nest().log('a');
    expect(info.lines).toHaveLength(1);
    const debug = memory();
    new AppLogger({ level: 'debug', format: 'json', destination: debug.destination }).nest().debug!('b');
    expect(debug.lines[0]).toMatchObject({ level: 'debug', msg: 'b' });
  });

  it('writes access lines with the fields given and nothing else', () => {
    const { lines, destination } = memory();
    new AppLogger({ level: 'info', format: 'json', destination }).access({
      method: 'POST',
      path: '/oauth/token',
      status: 200,
    });
    expect(lines[0]).toMatchObject({
      level: 'info',
      msg: 'request',
      method: 'POST',
      path: '/oauth/token',
      status: 200,
    });
  });

  it('formats text for a person: time, level, context, message, fields; colour only on a TTY', () => {
    const written: string[] = [];
    const out = { isTTY: false, write: (s: string) => written.push(s) } as unknown as NodeJS.WritableStream;
    new AppLogger({ level: 'info', format: 'json', destination: textDestination(out) })
      .nest()
      .log('listening on 127.0.0.1:8080', 'actbridge');
    expect(written[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z INFO {2}\[actbridge\] listening on 127\.0\.0\.1:8080\n$/);
    const tty: string[] = [];
    const terminal = { isTTY: true, write: (s: string) => tty.push(s) } as unknown as NodeJS.WritableStream;
    new AppLogger({ level: 'info', format: 'json', destination: textDestination(terminal) }).nest().warn('w');
    expect(tty[0]).toContain('\u001b[33mWARN \u001b[0m');
  });
});
