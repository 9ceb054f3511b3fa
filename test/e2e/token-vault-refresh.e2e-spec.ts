import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { openJson } from '../../src/vault/envelope.js';
import { generateVaultKey, KeyRing } from '../../src/vault/key-ring.js';
import { grantBinding, type UpstreamTokens } from '../../src/vault/vault-store.js';
import { describeWithPostgres } from '../support/postgres.js';
import { expectTokenRefused } from '../support/errors.js';
import { startTestApp, TT, type TestApp } from '../support/test-app.js';
import { agent, GITHUB_API, startVaultWorld, type VaultWorld } from '../support/token-vault.js';

/**
 * Token vault across two actbridge instances behind one issuer, sharing PostgreSQL: an expired upstream
 * token refreshed exactly once however many exchanges ask at once, the rotated refresh token kept; the
 * provider down (a valid token is served until it expires, then 503 with Retry-After); the refresh token
 * revoked upstream (the grant is disconnected, the caller told to reconnect); KEK rotation re-wrapping
 * every data key (`npm run vault -- rewrap`).
 */

const describeVault = await describeWithPostgres();
const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

const sleepUntil = (epochMs: number) => new Promise((r) => setTimeout(r, Math.max(0, epochMs - Date.now())));

describeVault('token vault across two instances', () => {
  let world: VaultWorld;
  let a: TestApp;
  let b: TestApp;
  let ring: KeyRing;
  let agentToken: string;

  beforeAll(async () => {
    world = await startVaultWorld({ instances: 2, database: true });
    [a, b] = world.instances as [TestApp, TestApp];
    ring = new KeyRing(new Map([['kek-1', Buffer.from(world.kek.k!, 'base64url')]]), 'kek-1');
    agentToken = await world.agentToken('agent-1');
  }, 60_000);

  afterAll(async () => {
    await world?.close();
  });

  /** The stored grant of `user` at github, read from the table and opened with the KEK. */
  async function stored(user: string, keys = ring) {
    const { rows } = await world.db!.pool.query(
      `SELECT status, reason, key_id, wrapped_key, ciphertext, extract(epoch from expires_at)::bigint AS expires_at
       FROM vault_grants WHERE connection = 'github' AND user_sub = $1`,
      [user],
    );
    const row = rows[0] as {
      status: string;
      reason: string | null;
      key_id: string | null;
      wrapped_key: Buffer | null;
      ciphertext: Buffer | null;
      expires_at: string | null;
    };
    const tokens =
      row.ciphertext === null
        ? undefined
        : openJson<UpstreamTokens>(
            keys,
            { keyId: row.key_id!, wrappedKey: row.wrapped_key!, ciphertext: row.ciphertext },
            grantBinding({ connection: 'github', user: { iss: world.corp.issuer, sub: user } }),
          );
    return { ...row, expiresAt: row.expires_at === null ? null : Number(row.expires_at), tokens };
  }

  const exchange = async (via: TestApp, user: string) =>
    world.exchange(via, agent('agent-1'), {
      subject_token: await world.userToken(user),
      subject_token_type: TT.accessToken,
      actor_token: agentToken,
      actor_token_type: TT.accessToken,
      resource: GITHUB_API,
    });

  it('migrated the fresh database once, though both instances started at the same moment', async () => {
    const { rows } = await world.db!.pool.query('SELECT version, name FROM vault_schema_migrations');
    expect(rows).toEqual([{ version: 1, name: 'token_vault' }]);
  });

  it('refreshes an expired token exactly once under 50 concurrent exchanges across both instances, keeping the rotated refresh token', async () => {
    world.github.setAccessTokenTtl(2);
    await world.connect('erin', 'erin-gh', { via: b });
    world.github.setAccessTokenTtl(3600);
    const before = await stored('erin');
    await sleepUntil(before.expiresAt! * 1000 + 300);

    const subject = await world.userToken('erin');
    const refreshes = world.github.stats.refreshGrants;
    const failures = world.github.stats.refreshErrors;
    const linesBefore = a.audit.lines.length + b.audit.lines.length;
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        world.exchange(i % 2 === 0 ? a : b, agent('agent-1'), {
          subject_token: subject,
          subject_token_type: TT.accessToken,
          actor_token: agentToken,
          actor_token_type: TT.accessToken,
          resource: GITHUB_API,
        }),
      ),
    );

    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    const issued = new Set(responses.map((r) => r.body.access_token));
    expect(issued.size).toBe(1);
    expect(issued.has(before.tokens!.access_token)).toBe(false);
    for (const r of responses) expect(r.body.expires_in).toBeGreaterThan(3500);
    expect(world.github.stats.refreshGrants).toBe(refreshes + 1);
    expect(world.github.stats.refreshErrors).toBe(failures);

    // The provider rotated the refresh token; the vault stored the new one with the new access token.
    const after = await stored('erin');
    expect(after.tokens!.access_token).toBe([...issued][0]);
    expect(after.tokens!.refresh_token).not.toBe(before.tokens!.refresh_token);
    expect(await world.github.refreshTokenState(before.tokens!.refresh_token!)).toBe('consumed');
    expect(await world.github.refreshTokenState(after.tokens!.refresh_token!)).toBe('live');
    const lines = [...a.audit.lines, ...b.audit.lines].slice(0).filter((l) => l.connection === 'github');
    expect(a.audit.lines.length + b.audit.lines.length - linesBefore).toBe(50);
    expect(
      lines.filter((l) => l.event === 'token.issued' && (l.subject as { sub: string }).sub === 'erin'),
    ).toHaveLength(50);
  });

  it('serves a still-valid token while the provider is down, answers 503 with Retry-After once it has expired, refreshes when the provider is back', async () => {
    world.github.setAccessTokenTtl(4);
    await world.connect('frank', 'frank-gh');
    world.github.setAccessTokenTtl(3600);
    const first = await stored('frank');
    // Past half its 4 s lifetime: due for a refresh, still valid.
    await sleepUntil(first.expiresAt! * 1000 - 1700);
    world.github.setTokenEndpointMode('down');
    try {
      const served = await exchange(a, 'frank');
      expect(served.status).toBe(200);
      expect(served.body.access_token).toBe(first.tokens!.access_token);
      expect(served.body.expires_in).toBeLessThanOrEqual(2);

      await sleepUntil(first.expiresAt! * 1000 + 300);
      const refused = await expectTokenRefused(b, () => exchange(b, 'frank'), {
        status: 503,
        error: 'temporarily_unavailable',
        description: "github cannot be reached to refresh the user's expired token; retry later",
      });
      expect(refused.headers.get('retry-after')).toBe('30');
      expect(b.audit.lines.at(-1)).toMatchObject({
        event: 'token.refused',
        connection: 'github',
        subject: { sub: 'frank' },
        error: 'temporarily_unavailable',
        reason: expect.stringMatching(/^github: refresh: .*503/),
      });
    } finally {
      world.github.setTokenEndpointMode('ok');
    }
    const back = await exchange(b, 'frank');
    expect(back.status).toBe(200);
    expect(back.body.access_token).not.toBe(first.tokens!.access_token);
    expect(back.body.expires_in).toBeGreaterThan(3500);
  });

  it('marks the grant disconnected when the provider refuses its refresh token, and tells every caller to reconnect', async () => {
    world.github.setAccessTokenTtl(1);
    await world.connect('grace', 'grace-gh');
    world.github.setAccessTokenTtl(3600);
    const first = await stored('grace');
    // The user revokes actbridge's access at the provider.
    await world.github.revokeGrantsOf('grace-gh');
    await sleepUntil(first.expiresAt! * 1000 + 300);

    const reconnect = {
      error: 'invalid_grant',
      error_description:
        "the user's github authorization was revoked or has expired; the user must reconnect the account",
    };
    const refused = await exchange(a, 'grace');
    expect({ status: refused.status, body: refused.body }).toEqual({ status: 400, body: reconnect });
    expect(a.audit.lines.at(-1)).toMatchObject({
      event: 'token.refused',
      connection: 'github',
      subject: { sub: 'grace' },
      error: 'invalid_grant',
      reason: expect.stringMatching(
        /^grant disconnected: the provider refused the refresh token: refresh: the provider answered 400 invalid_grant/,
      ),
    });
    const row = await stored('grace');
    expect(row).toMatchObject({ status: 'disconnected', key_id: null, ciphertext: null, wrapped_key: null });
    expect(row.reason).toMatch(/invalid_grant/);

    // Known disconnected at the other instance too, without asking the provider again.
    const failures = world.github.stats.refreshErrors;
    const again = await exchange(b, 'grace');
    expect(again.body).toEqual(reconnect);
    expect(world.github.stats.refreshErrors).toBe(failures);

    // Connecting again repairs it.
    await world.connect('grace', 'grace-gh', { via: b });
    const repaired = await exchange(a, 'grace');
    expect(repaired.status).toBe(200);
    expect((await stored('grace')).status).toBe('connected');
  });

  it("disconnects a grant the provider widens beyond the connection's scopes at refresh, revoking it upstream; no caller is served it", async () => {
    world.github.setAccessTokenTtl(1);
    await world.connect('judy', 'judy-gh');
    world.github.setAccessTokenTtl(3600);
    const first = await stored('judy');
    await sleepUntil(first.expiresAt! * 1000 + 300);
    const revocations = world.github.stats.revocations;
    const refused = await world.github.withTokenResponseRewrite(
      (body) => ({ ...body, scope: `${String(body.scope)} admin:org` }),
      () => exchange(a, 'judy'),
    );
    expect({ status: refused.status, body: refused.body }).toEqual({
      status: 400,
      body: {
        error: 'invalid_grant',
        error_description:
          "the user's github authorization was revoked or has expired; the user must reconnect the account",
      },
    });
    expect(a.audit.lines.at(-1)).toMatchObject({
      event: 'token.refused',
      subject: { sub: 'judy' },
      error: 'invalid_grant',
      reason: "grant disconnected: the provider widened the grant at refresh beyond the connection's scopes: admin:org",
    });
    expect(await stored('judy')).toMatchObject({ status: 'disconnected', ciphertext: null });
    expect(world.github.stats.revocations).toBe(revocations + 1);
    expect(await world.github.hasRefreshToken('judy-gh')).toBe(false);
  });

  it('keeps the grant alive when a rotating provider answers a refresh with an absurd expires_in (1e300): the new token is not served, its refresh token is kept', async () => {
    world.github.setAccessTokenTtl(1);
    await world.connect('kate', 'kate-gh');
    world.github.setAccessTokenTtl(3600);
    const first = await stored('kate');
    await sleepUntil(first.expiresAt! * 1000 + 300);
    world.github.setTokenResponseRewrite((body) => ({ ...body, expires_in: 1e300 }));
    try {
      await expectTokenRefused(a, () => exchange(a, 'kate'), {
        status: 503,
        error: 'temporarily_unavailable',
        description: "github cannot be reached to refresh the user's expired token; retry later",
      });
    } finally {
      world.github.setTokenResponseRewrite(undefined);
    }
    expect(a.audit.lines.at(-1)).toMatchObject({
      event: 'token.refused',
      subject: { sub: 'kate' },
      error: 'temporarily_unavailable',
      reason:
        'github: refresh: the provider answered a token the vault cannot keep: expires_in 1e+300 is out of range (at most 315360000 seconds); its rotated refresh token is kept',
    });
    // The spent refresh token is replaced by the rotated one; the expired access token stays as it was.
    const kept = await stored('kate');
    expect(kept).toMatchObject({ status: 'connected', expiresAt: first.expiresAt });
    expect(kept.tokens!.access_token).toBe(first.tokens!.access_token);
    expect(await world.github.refreshTokenState(first.tokens!.refresh_token!)).toBe('consumed');
    expect(await world.github.refreshTokenState(kept.tokens!.refresh_token!)).toBe('live');

    const back = await exchange(b, 'kate');
    expect(back.status).toBe(200);
    expect(back.body.access_token).not.toBe(first.tokens!.access_token);
    expect(back.body.expires_in).toBeGreaterThan(3500);
  });

  it('never serves a refreshed token that is not a Bearer token (DPoP): the current one until it expires, then 503; the grant survives', async () => {
    world.github.setAccessTokenTtl(4);
    await world.connect('leo', 'leo-gh');
    world.github.setAccessTokenTtl(3600);
    const first = await stored('leo');
    const reason =
      'github: refresh: the provider answered a token the vault cannot keep: token_type dpop; its rotated refresh token is kept';
    // Past half its 4 s lifetime: due for a refresh, still valid.
    await sleepUntil(first.expiresAt! * 1000 - 1700);
    world.github.setTokenResponseRewrite((body) => ({ ...body, token_type: 'DPoP' }));
    try {
      const served = await exchange(a, 'leo');
      expect(served.status).toBe(200);
      expect(served.body).toMatchObject({ access_token: first.tokens!.access_token, token_type: 'Bearer' });
      expect(served.body.expires_in).toBeLessThanOrEqual(2);

      await sleepUntil(first.expiresAt! * 1000 + 300);
      await expectTokenRefused(b, () => exchange(b, 'leo'), {
        status: 503,
        error: 'temporarily_unavailable',
        description: "github cannot be reached to refresh the user's expired token; retry later",
      });
      expect(b.audit.lines.at(-1)).toMatchObject({ event: 'token.refused', subject: { sub: 'leo' }, reason });
    } finally {
      world.github.setTokenResponseRewrite(undefined);
    }
    const kept = await stored('leo');
    expect(kept.tokens).toMatchObject({ access_token: first.tokens!.access_token, token_type: 'Bearer' });
    expect(await world.github.refreshTokenState(kept.tokens!.refresh_token!)).toBe('live');

    const back = await exchange(a, 'leo');
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ token_type: 'Bearer' });
    expect(back.body.access_token).not.toBe(first.tokens!.access_token);
  });

  it('answers 503 within the statement bound while the database holds the vault table locked, and serves again once it is released', async () => {
    await world.connect('gina', 'gina-gh');
    const locker = await world.db!.pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE vault_grants IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      const refused = await expectTokenRefused(a, () => exchange(a, 'gina'), {
        status: 503,
        error: 'temporarily_unavailable',
        description: 'the token vault is unavailable; retry later',
      });
      // 5 s of statement_timeout, not as long as the lock is held.
      expect(Date.now() - started).toBeLessThan(8000);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(a.audit.lines.at(-1)).toMatchObject({
        connection: 'github',
        subject: { sub: 'gina' },
        reason: 'vault store error: canceling statement due to statement timeout (57014)',
      });
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
    expect((await exchange(a, 'gina')).status).toBe(200);
  }, 30_000);

  it('names a record rewrap cannot open by its user and issuer, with control characters escaped (the sub is a token claim)', async () => {
    // A user's sub chosen to rewrite the operator's terminal and forge an output line; its key long gone.
    const sub = 'mallory\u001b[2J\nre-wrapped 0 record(s)';
    await world.db!.pool.query(
      `INSERT INTO vault_grants (connection, user_iss, user_sub, status, scopes, key_id, wrapped_key, ciphertext)
       VALUES ('github', $1, $2, 'connected', '{}', 'kek-0', '\\x00', '\\x00')`,
      [world.corp.issuer, sub],
    );
    try {
      const failed = await run(process.execPath, ['dist/cli/vault.js', 'rewrap'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', DATABASE_URL: world.db!.url, VAULT_KEYS: JSON.stringify(world.kek) },
      }).catch((error: { code?: number; stderr?: string }) => error);
      expect(failed).toMatchObject({
        code: 1,
        stderr:
          `could not re-wrap grant github of mallory\\u001b[2J\\u000are-wrapped 0 record(s) (${world.corp.issuer}): ` +
          'key-encryption key "kek-0" is not in VAULT_KEYS\n',
      });
    } finally {
      await world.db!.pool.query("DELETE FROM vault_grants WHERE key_id = 'kek-0'");
    }
  });

  it('prints a key_id read from the database with control characters escaped (npm run vault -- status)', async () => {
    // Someone with write access to the database (not to the operator's terminal) names a key so.
    const kid = 'kek-0\u001b[2J\nconnect flows in progress: 0';
    await world.db!.pool.query(
      `INSERT INTO vault_grants (connection, user_iss, user_sub, status, scopes, key_id, wrapped_key, ciphertext)
       VALUES ('github', $1, 'nobody', 'connected', '{}', $2, '\\x00', '\\x00')`,
      [world.corp.issuer, kid],
    );
    try {
      const { stdout } = await run(process.execPath, ['dist/cli/vault.js', 'status'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', DATABASE_URL: world.db!.url, VAULT_KEYS: JSON.stringify(world.kek) },
      });
      const lines = stdout.split('\n');
      expect(lines).toHaveLength(5); // four lines and the final newline
      expect(lines[2]).toMatch(
        /^sealed records by key: kek-0\\u001b\[2J\\u000aconnect flows in progress: 0 1(, kek-1 \d+)?$/,
      );
    } finally {
      await world.db!.pool.query("DELETE FROM vault_grants WHERE user_sub = 'nobody'");
    }
  });

  it('re-wraps every data key under a new key-encryption key (npm run vault -- rewrap); an instance knowing only the new key serves them', async () => {
    const kek2 = generateVaultKey('kek-2');
    const cli = (args: string[], keys: object, keyId?: string) =>
      run(process.execPath, ['dist/cli/vault.js', ...args], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          DATABASE_URL: world.db!.url,
          VAULT_KEYS: JSON.stringify(keys),
          ...(keyId ? { VAULT_KEY_ID: keyId } : {}),
        },
      });
    const before = await world.db!.pool.query(
      'SELECT user_sub, key_id, wrapped_key, ciphertext FROM vault_grants WHERE key_id IS NOT NULL ORDER BY user_sub',
    );
    expect(before.rows.length).toBeGreaterThanOrEqual(3);
    expect(new Set(before.rows.map((r: { key_id: string }) => r.key_id))).toEqual(new Set(['kek-1']));

    const { stdout } = await cli(['rewrap'], { keys: [world.kek, kek2] }, 'kek-2');
    expect(stdout).toBe(`re-wrapped ${before.rows.length} record(s) with key "kek-2"\n`);

    const after = await world.db!.pool.query(
      'SELECT user_sub, key_id, wrapped_key, ciphertext FROM vault_grants WHERE key_id IS NOT NULL ORDER BY user_sub',
    );
    after.rows.forEach((row: { key_id: string; wrapped_key: Buffer; ciphertext: Buffer }, i: number) => {
      expect(row.key_id).toBe('kek-2');
      expect(row.ciphertext.equals(before.rows[i].ciphertext)).toBe(true);
      expect(row.wrapped_key.equals(before.rows[i].wrapped_key)).toBe(false);
    });
    const status = await cli(['status'], kek2);
    expect(status.stdout).toContain(`sealed records by key: kek-2 ${before.rows.length}`);
    expect((await cli(['migrate'], kek2)).stdout).toBe('schema at version 1; nothing to apply\n');
    // Nothing left under the old key: it can be retired.
    expect((await cli(['rewrap'], kek2)).stdout).toBe('re-wrapped 0 record(s) with key "kek-2"\n');

    const expected = (
      await stored('erin', new KeyRing(new Map([['kek-2', Buffer.from(kek2.k!, 'base64url')]]), 'kek-2'))
    ).tokens!;
    const c = await startTestApp({
      anchors: world.anchors,
      clients: world.clients,
      connections: world.connections,
      env: { ...world.env, VAULT_KEYS: JSON.stringify(kek2) },
    });
    try {
      const response = await exchange(c, 'erin');
      expect(response).toMatchObject({ status: 200, body: { access_token: expected.access_token } });
    } finally {
      await c.close();
    }
  });
});
