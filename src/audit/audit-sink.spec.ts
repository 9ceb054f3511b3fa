import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ConfigError } from '../config/config-error.js';
import { OAuthError } from '../oauth/oauth-error.js';
import { AuditWriteError, StreamAuditSink, writeAuditLine } from './audit-sink.js';

let dir: string;
let sink: StreamAuditSink | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'actbridge-audit-'));
  jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
});

afterEach(async () => {
  await sink?.close();
  sink = undefined;
  jest.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

const lines = (file: string) => readFileSync(file, 'utf8').trim().split('\n');

describe('StreamAuditSink (AUDIT_LOG)', () => {
  it('appends one line per write, synchronously, in the chosen format', () => {
    const file = join(dir, 'audit.log');
    sink = new StreamAuditSink(file, 'kv');
    sink.write({ ts: '2026-05-10T22:13:01.000Z', event: 'token.issued', jti: 'a' });
    expect(lines(file)).toEqual(['2026-05-10T22:13:01.000Z event=token.issued jti=a']);
  });

  it('throws AuditWriteError when the disk is full (ENOSPC), which callers turn into a 503', () => {
    sink = new StreamAuditSink('/dev/full');
    expect(() => sink!.write({ event: 'token.issued' })).toThrow(AuditWriteError);
    expect(() => sink!.write({ event: 'token.issued' })).toThrow(/write failed \(ENOSPC\)/);
    let refusal: unknown;
    try {
      writeAuditLine(sink, { event: 'token.issued' });
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(OAuthError);
    expect(refusal).toMatchObject({ error: 'temporarily_unavailable', status: 503 });
  });

  it('reopens the file on SIGHUP: lines before go to the rotated file, lines after to a new one', () => {
    const file = join(dir, 'audit.log');
    sink = new StreamAuditSink(file);
    sink.write({ n: 1 });
    renameSync(file, `${file}.1`);
    sink.write({ n: 2 }); // logrotate renamed it; until the signal, lines still reach the renamed file
    process.emit('SIGHUP', 'SIGHUP');
    sink.write({ n: 3 });
    expect(lines(`${file}.1`)).toEqual(['{"n":1}', '{"n":2}']);
    expect(lines(file)).toEqual(['{"n":3}']);
  });

  it('fails closed while the file cannot be reopened, and recovers once it can', () => {
    const file = join(dir, 'audit.log');
    sink = new StreamAuditSink(file);
    renameSync(file, `${file}.1`);
    mkdirSync(file); // the path is now a directory: the reopen fails (EISDIR)
    process.emit('SIGHUP', 'SIGHUP');
    expect(() => sink!.write({ n: 1 })).toThrow(/is not open/);
    rmdirSync(file);
    sink.write({ n: 2 });
    expect(lines(file)).toEqual(['{"n":2}']);
    expect(lines(`${file}.1`)).toEqual(['']);
  });

  it('stops listening for SIGHUP once closed', async () => {
    const before = process.listenerCount('SIGHUP');
    const closing = new StreamAuditSink(join(dir, 'audit.log'));
    expect(process.listenerCount('SIGHUP')).toBe(before + 1);
    await closing.close();
    expect(process.listenerCount('SIGHUP')).toBe(before);
  });

  it('writes a stream and a file when both are given, the file first', () => {
    const file = join(dir, 'audit.log');
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    sink = new StreamAuditSink(`stdout, ${file}`);
    sink.write({ n: 1 });
    expect(lines(file)).toEqual(['{"n":1}']);
    expect(out).toHaveBeenCalledWith('{"n":1}\n');
  });

  it.each([
    ['stdout,stderr', /at most one of stdout\/stderr and one file path/],
    [`${tmpdir()}/a.log,${tmpdir()}/b.log`, /at most one of stdout\/stderr and one file path/],
    ['stdout,', /at most one/],
    ['/nonexistent-dir/audit.log', /AUDIT_LOG: cannot open \/nonexistent-dir\/audit.log for appending \(ENOENT\)/],
    // Not a file named STDOUT in the working directory, where nothing collects the audit.
    ['STDOUT', /^environment: AUDIT_LOG: STDOUT is not a stream; write stdout, or \.\/STDOUT for a file of that name$/],
    ['Stderr', /^environment: AUDIT_LOG: Stderr is not a stream; write stderr, or/],
  ])('refuses AUDIT_LOG=%s at startup', (target, message) => {
    expect(() => new StreamAuditSink(target)).toThrow(ConfigError);
    expect(() => new StreamAuditSink(target)).toThrow(message);
    expect(existsSync(`${tmpdir()}/a.log`)).toBe(false);
  });
});
