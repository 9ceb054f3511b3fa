import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ROOT } from '../support/server-process.js';

/**
 * The operator commands on bad input, as operators run them (`node dist/cli/<command>.js`): one line
 * naming what is wrong, never a stack trace, a meaningful exit code, and nothing changed on a refusal.
 */

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(script: string, args: string[], env: Record<string, string> = {}, cwd = ROOT): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [join(ROOT, 'dist/cli', script), ...args],
      { cwd, env: { PATH: process.env.PATH, LOG_LEVEL: 'error', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'actbridge-operator-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KEYS_USAGE = `usage: npm run -s keys -- generate [--alg ES256|ES384|RS256|PS256|EdDSA] [--kid <kid>] [--out <file> | --dir <dir>]
       npm run -s keys -- activate <kid> [--dir <dir>]
       npm run -s keys -- retire <kid> [--dir <dir>]
  --dir: a SIGNING_KEYS directory (default: $SIGNING_KEYS)
`;

describe('keys generate', () => {
  it('writes a new private key file (0600) and leaves no temporary file behind', async () => {
    const keys = join(dir, 'keys-ok');
    mkdirSync(keys);
    const result = await run('keys.js', ['generate', '--dir', keys, '--kid', 'sts-2']);
    expect(result.code).toBe(0);
    expect(result.stderr.split('\n')[0]).toBe(`wrote ${join(keys, 'sts-2.json')}`);
    expect(readdirSync(keys, { withFileTypes: false })).toEqual(['sts-2.json']);
    expect(statSync(join(keys, 'sts-2.json')).mode & 0o777).toBe(0o600);
  });

  it('refuses a kid that would name a file marked active: a new key never signs before its publish lead', async () => {
    const keys = join(dir, 'keys-active');
    mkdirSync(keys);
    const result = await run('keys.js', ['generate', '--dir', keys, '--kid', 'sts-2.Active']);
    expect(result.stderr).toBe(
      `--kid sts-2.Active: must not end in .active (that marks the active key file); use keys activate\n${KEYS_USAGE}`,
    );
    expect(result.code).toBe(2);
    expect(readdirSync(keys)).toEqual([]);
  });

  it('never overwrites, and names the file it refuses', async () => {
    const keys = join(dir, 'keys-exists');
    mkdirSync(keys);
    writeFileSync(join(keys, 'sts-1.json'), 'kept');
    const again = await run('keys.js', ['generate', '--dir', keys, '--kid', 'sts-1']);
    expect(again.stderr).toBe(`${join(keys, 'sts-1.json')}: already exists; not overwritten\n`);
    expect(again.code).toBe(1);
    const toDirectory = await run('keys.js', ['generate', '--out', keys]);
    expect(toDirectory.stderr).toBe(`${keys}: already exists; not overwritten\n`);
    expect(toDirectory.code).toBe(1);
    const underFile = await run('keys.js', ['generate', '--dir', join(keys, 'sts-1.json'), '--kid', 'x']);
    expect(underFile.stderr).toBe(`${join(keys, 'sts-1.json', 'x.json')}: cannot be written (ENOTDIR)\n`);
    expect(underFile.code).toBe(1);
  });

  it('an unknown option is a usage error: exit 2 with the usage', async () => {
    const result = await run('keys.js', ['generate', '--kdi', 'x']);
    expect(result.stderr).toBe(
      `Unknown option '--kdi'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- "--kdi"\n${KEYS_USAGE}`,
    );
    expect(result.code).toBe(2);
  });
});
