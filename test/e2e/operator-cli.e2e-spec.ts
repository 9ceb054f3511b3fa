import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { REDIS_TEST_URL } from '../support/redis.js';
import { subjectKey } from '../../src/stores/lineage-keys.js';
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

  it('refuses an empty --kid, which SIGNING_KEYS would refuse (exit 2, nothing written)', async () => {
    const out = join(dir, 'empty-kid.json');
    const result = await run('keys.js', ['generate', '--kid', '', '--out', out]);
    expect(result.stderr).toBe(`--kid: must not be empty (leave it out for the key thumbprint)\n${KEYS_USAGE}`);
    expect(result.code).toBe(2);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses an empty --out or --dir (an unset $VARIABLE): the private key is not printed instead (exit 2)', async () => {
    for (const option of ['--out', '--dir']) {
      const result = await run('keys.js', ['generate', `${option}=`]);
      expect(result.stderr).toBe(`${option}: must not be empty\n${KEYS_USAGE}`);
      expect(result.stdout).toBe('');
      expect(result.code).toBe(2);
    }
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

const HASH_USAGE = `usage: echo -n "$SECRET" | npm run -s hash-secret
       npm run -s hash-secret -- --generate
`;

describe('hash-secret', () => {
  it('refuses a secret given as an argument (shown by ps, not what is hashed) without echoing it (exit 2)', async () => {
    const result = await run('hash-client-secret.js', ['s3cret-on-the-command-line']);
    expect(result.stderr).toBe(
      `the secret is read from stdin, not the command line (where ps and shell history show it)\n${HASH_USAGE}`,
    );
    expect(result.stdout).toBe('');
    expect(result.code).toBe(2);
  });

  it('a misspelt --generate is a usage error, not a hash of whatever stdin holds (exit 2)', async () => {
    const result = await run('hash-client-secret.js', ['--generat']);
    expect(result.stderr).toBe(
      `Unknown option '--generat'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- "--generat"\n${HASH_USAGE}`,
    );
    expect(result.stdout).toBe('');
    expect(result.code).toBe(2);
  });
});

describe('explain and policy:test', () => {
  it('explain: a token file that cannot be read is one line naming it (exit 2)', async () => {
    const missing = await run('explain.js', ['--subject-token', `@${join(dir, 'no-such.jwt')}`, '--client', 'x']);
    expect(missing.stderr).toBe(`--subject-token @${join(dir, 'no-such.jwt')}: cannot be read (ENOENT)\n`);
    expect(missing.code).toBe(2);
    const directory = await run('explain.js', [
      ...['--subject-token', 'a.b.c', '--client', 'x'],
      ...['--actor-token', `@${dir}`, '--actor-token-type', 'jwt'],
    ]);
    expect(directory.stderr).toBe(`--actor-token @${dir}: cannot be read (EISDIR)\n`);
    expect(directory.code).toBe(2);
  });

  it('explain: an empty token (empty file, closed stdin) is a usage error (exit 2), not a refusal (exit 1)', async () => {
    const empty = join(dir, 'empty.jwt');
    writeFileSync(empty, '\n');
    const result = await run('explain.js', ['--subject-token', `@${empty}`, '--client', 'x']);
    expect(result.stderr).toBe(`--subject-token @${empty}: is empty\n`);
    expect(result.stdout).toBe('');
    expect(result.code).toBe(2);
  });

  it('explain: an --at beyond what a clock can show is a usage error, not a RangeError', async () => {
    const result = await run('explain.js', [
      '--subject-token',
      'a.b.c',
      '--client',
      'x',
      '--at',
      '99999999999999999999',
    ]);
    expect(result.stderr).toBe('--at: not an ISO 8601 time or epoch seconds: "99999999999999999999"\n');
    expect(result.code).toBe(2);
  });

  it('policy:test: an unknown option is a usage error (exit 2), not a policy file that cannot be read (exit 1)', async () => {
    const result = await run('policy-test.js', ['--verbose']);
    expect(result.stderr).toBe(
      'policy:test: unknown option --verbose (a file starting with - is ./--verbose)\nusage: npm run -s policy:test [-- files...]   (default: every policy-tests/*.yaml)\n',
    );
    expect(result.stdout).toBe('');
    expect(result.code).toBe(2);
  });

  it('policy:test: a case with a bad `at` is reported with its file and field, and the other files still run', async () => {
    const file = (name: string, at: unknown) => {
      const path = join(dir, name);
      writeFileSync(
        path,
        JSON.stringify({
          anchors: [join(ROOT, 'trust-anchors/enterprise-oidc.yaml.example')],
          clients_file: join(ROOT, 'policy-tests/config/clients.yaml'),
          env: { ISSUER: 'https://sts.example.com' },
          cases: [
            {
              name: 'an engineer',
              anchor: 'enterprise-oidc',
              client: 'portal',
              at,
              claims: { sub: 'u-2', email: 'bob@example.com', email_verified: true, groups: ['engineering'] },
              expect: { allowed: { scope: 'read write', rule: 'engineers' } },
            },
          ],
        }),
      );
      return path;
    };
    const bad = file('bad-at.yaml', { not: 'a time' });
    const huge = file('huge-at.yaml', 99_999_999_999_999);
    const good = file('good.yaml', '2026-06-01T12:00:00Z');
    const result = await run('policy-test.js', [bad, huge, good]);
    expect(result.stdout).toBe(
      `${bad}\n  ✗ cannot run: ${bad}: cases[0].at: not an ISO 8601 time or epoch seconds: {"not":"a time"}\n` +
        `${huge}\n  ✗ cannot run: ${huge}: cases[0].at: not an ISO 8601 time or epoch seconds: 99999999999999\n` +
        `${good}\n  ✓ an engineer\n` +
        '\n1 passed, 0 failed, 2 file(s) could not be run (3 file(s))\n',
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
  });
});

describe('revoke', () => {
  it('an option given twice is a usage error, not the last one alone revoked (exit 2)', async () => {
    const result = await run('revoke.js', ['--jti', 'a', '--jti', 'b']);
    expect(result.stderr).toBe(
      "Option '--jti' given more than once\nusage: npm run -s revoke -- --jti <jti> | --root-issuer <iss> --root-jti <jti> | --root-issuer <iss> --sub <sub>\n",
    );
    expect(result.stdout).toBe('');
    expect(result.code).toBe(2);
  });

  it('opens AUDIT_LOG before revoking: an unwritable one revokes nothing (exit 2), whatever the store', async () => {
    const audit = join(dir, 'no-such-dir', 'audit.log');
    const result = await run('revoke.js', ['--jti', 'some-jti'], {
      REDIS_URL: 'redis://127.0.0.1:1',
      AUDIT_LOG: audit,
      CLIENTS_FILE: join(ROOT, 'config/clients.yaml'),
      TRUST_ANCHORS_DIR: join(ROOT, 'trust-anchors'),
    });
    expect(result.stderr).toBe(
      `revoke: configuration error: AUDIT_LOG: cannot open ${audit} for appending (ENOENT); nothing revoked\n`,
    );
    expect(result.stdout).toBe('');
    expect(result.code).toBe(2);
  });
});

describe('revoke, the store failing after the start is revoked', () => {
  it('audits the revocation that stands, says the walk is left to the server (exit 1)', async () => {
    // A Redis user that may not run scripts: the flag and the walk's mark (MULTI) are written, the walk
    // (a script reading the children) fails, as a store failing mid-way.
    const admin = new Redis(REDIS_TEST_URL);
    const user = `no-scripts-${randomUUID()}`;
    await admin.acl('SETUSER', user, 'on', '>pw-0123456789', '~*', '&*', '+@all', '-eval', '-evalsha');
    const url = new URL(REDIS_TEST_URL);
    url.username = user;
    url.password = 'pw-0123456789';
    const audit = join(dir, 'revoke-cut.log');
    const sub = `alice-${randomUUID()}`;
    const key = subjectKey('https://idp.example', sub);
    try {
      const result = await run('revoke.js', ['--root-issuer', 'https://idp.example', '--sub', sub], {
        REDIS_URL: url.href,
        AUDIT_LOG: audit,
        CLIENTS_FILE: join(ROOT, 'config/clients.yaml'),
        TRUST_ANCHORS_DIR: join(ROOT, 'trust-anchors'),
      });
      const [line, ...more] = readFileSync(audit, 'utf8').trim().split('\n');
      expect(more).toEqual([]);
      const audited = JSON.parse(line!) as Record<string, unknown>;
      expect(audited).toMatchObject({ event: 'token.revoked', revoked_by: 'operator', key, descendants_revoked: 0 });
      expect(result.stdout).toBe(
        `revoked ${key} until ${new Date((audited.exp as number) * 1000).toISOString()}, and 0 descendant(s) before the store failed; ` +
          'the walk of the others is completed by the server (CASCADE_RESUME_INTERVAL) or by running this command again\n',
      );
      expect(result.stderr).toBe(
        "revoke: the store failed while revoking the descendants: NOPERM this user has no permissions to run the 'eval' command\n",
      );
      expect(result.code).toBe(1);
      expect(await admin.get(`actbridge:revoked:${key}`)).toBe(key);
      expect(await admin.zscore('actbridge:revoked-walks', `${audited.exp} ${key}`)).not.toBeNull();
    } finally {
      const walks = await admin.zrange('actbridge:revoked-walks', '0', '-1');
      for (const walk of walks.filter((member) => member.endsWith(` ${key}`))) {
        await admin.zrem('actbridge:revoked-walks', walk);
      }
      await admin.acl('DELUSER', user);
      admin.disconnect();
    }
  });
});

describe('healthcheck', () => {
  it('probes the address HOST names: a server bound to 127.0.0.2 only is found ready (exit 0)', async () => {
    const server = createServer((request, response) => {
      response.statusCode = request.url === '/health/ready' ? 200 : 404;
      response.end();
    });
    await new Promise<void>((listening) => server.listen(0, '127.0.0.2', listening));
    const port = String((server.address() as AddressInfo).port);
    try {
      expect((await run('healthcheck.js', [], { HOST: '127.0.0.2', PORT: port })).code).toBe(0);
      expect((await run('healthcheck.js', [], { PORT: port })).code).toBe(1);
    } finally {
      server.close();
    }
  });
});

describe('lineage', () => {
  it('prints a jti (or a stored actor) with control characters escaped: no escape sequence, no forged line', async () => {
    const result = await run('lineage.js', ['--jti', 'x\u001b[2J\ny'], { REDIS_URL: REDIS_TEST_URL });
    expect(result.stdout).toBe(
      'ancestors:\ntoken:\n   x\\u001b[2J\\u000ay [unknown or expired] not revoked\ndescendants:\n',
    );
    expect(result.code).toBe(0);
  });
});

describe('a store URL its client cannot parse', () => {
  const env = {
    CLIENTS_FILE: join(ROOT, 'config/clients.yaml'),
    TRUST_ANCHORS_DIR: join(ROOT, 'trust-anchors'),
  };

  it.each([
    ['store.js', ['status'], 'REDIS_URL', 'redis://:s3cret%zz@127.0.0.1:1', 'store'],
    ['revoke.js', ['--jti', 'x'], 'REDIS_URL', 'redis://:s3cret%zz@127.0.0.1:1', 'revoke'],
    ['revoke.js', ['--jti', 'x'], 'REDIS_URL', 'redis://:s3cret@127.0.0.1:99999', 'revoke'],
    ['vault.js', ['status'], 'DATABASE_URL', 'postgres://u:s3cret%zz@127.0.0.1:1/db', 'vault'],
  ])('%s %j with %s=%s: one line naming the variable, no stack, no password (exit 2)', async (...c) => {
    const [script, args, variable, url, command] = c;
    const result = await run(script, args, { ...env, [variable]: url });
    expect(result.stderr).toBe(
      `${command}: configuration error: environment: ${variable}: is not a valid URL (percent-encode reserved characters in the user name and password)\n`,
    );
    expect(result.stderr).not.toContain('s3cret');
    expect(result.code).toBe(2);
  });
});

describe('vault generate-key', () => {
  it('writes a new key file (0600) and says so; never overwrites one, in one line (exit 1)', async () => {
    const out = join(dir, 'vault-key.json');
    const first = await run('vault.js', ['generate-key', '--kid', '2026-01', '--out', out]);
    expect(first.stderr).toBe(`wrote ${out} (kid 2026-01, mode 0600)\n`);
    expect(first.code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const again = await run('vault.js', ['generate-key', '--out', out]);
    expect(again.stderr).toBe(`vault: ${out}: already exists; not overwritten\n`);
    expect(again.code).toBe(1);
  });

  it('refuses an empty --kid, which VAULT_KEYS would refuse (exit 2)', async () => {
    const result = await run('vault.js', ['generate-key', '--kid', '']);
    expect(result.stderr).toBe(
      '--kid: must not be empty\nusage: npm run -s vault -- migrate | status | rewrap | generate-key [--kid <kid>] [--out <file>]\n',
    );
    expect(result.stdout).toBe('');
    expect(result.code).toBe(2);
  });

  it('refuses an empty --out (an unset $VARIABLE): the key is not printed instead (exit 2)', async () => {
    const result = await run('vault.js', ['generate-key', '--out=']);
    expect(result.stderr).toBe(
      '--out: must not be empty\nusage: npm run -s vault -- migrate | status | rewrap | generate-key [--kid <kid>] [--out <file>]\n',
    );
    expect(result.stdout).toBe('');
    expect(result.code).toBe(2);
  });
});

describe('keys retire', () => {
  it('keeps the alg the server signs with: an RSA key file without alg under SIGNING_ALG=PS256 stays PS256', async () => {
    const keys = join(dir, 'keys-retire-rsa');
    mkdirSync(keys);
    const jwk = (kid: string) => ({
      ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
      kid,
    });
    writeFileSync(join(keys, 'old.json'), JSON.stringify(jwk('old')));
    writeFileSync(join(keys, 'new.active.json'), JSON.stringify(jwk('new')));
    const result = await run('keys.js', ['retire', 'old', '--dir', keys], { SIGNING_ALG: 'PS256' });
    expect(result.code).toBe(0);
    const retired = JSON.parse(readFileSync(join(keys, 'old.json'), 'utf8')) as Record<string, unknown>;
    // Another alg for a published kid is refused on reload (a new key must get a new kid).
    expect(retired).toMatchObject({ kid: 'old', kty: 'RSA', alg: 'PS256' });
    expect(retired).not.toHaveProperty('d');
  });
});
