import { execFile } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import { hashClientSecret } from '../../src/clients/client-secret.js';
import { startBuiltServer, type BuiltServer } from '../support/built-server.js';
import { ROOT } from '../support/server-process.js';
import { createTestIssuer, type TestIssuer } from '../support/test-issuer.js';

const run = promisify(execFile);
const AUDIENCE = 'urn:actbridge:rotation-test';
const SECRET = 'gateway-secret-0123456789';
/** jose's createRemoteJWKSet refetches on an unknown kid at most every 30 s (its default cooldown). */
const PUBLISH_LEAD = 32;
const TOKEN_TTL = 15;

jest.setTimeout(150_000);

/**
 * Rotating actbridge's signing key on a running server (`node dist/main.js`, production), with the
 * operator's commands (`npm run keys -- generate/activate/retire`, then `rm`), while concurrent clients
 * exchange tokens and a resource server verifies each with jose's createRemoteJWKSet at its defaults:
 * no exchange and no verification may fail.
 */
describe('signing key rotation without restarts, under load', () => {
  let server: BuiltServer;
  let idp: TestIssuer;
  let keysDir: string;

  const keysCli = (...args: string[]) =>
    run(process.execPath, ['dist/cli/keys.js', ...args, '--dir', keysDir], { cwd: ROOT });
  const jwksKids = async () =>
    ((await (await fetch(`${server.baseUrl}/.well-known/jwks.json`)).json()) as { keys: JWK[] }).keys.map((k) => k.kid);
  const until = async (what: string, check: () => Promise<boolean> | boolean, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${server.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  beforeAll(async () => {
    idp = await createTestIssuer('https://idp.rotation.example');
    server = await startBuiltServer({
      anchors: { idp: { issuer: idp.issuer, audiences: [AUDIENCE], jwks: idp.publicJwks } },
      clients: [
        {
          client_id: 'gateway',
          token_endpoint_auth_method: 'client_secret_basic',
          client_secret_hash: await hashClientSecret(SECRET),
          grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange'],
          audiences: ['https://api.example.com'],
          default_audience: 'https://api.example.com',
        },
      ],
      env: {
        SIGNING_KEYS_RELOAD_INTERVAL: '1',
        SIGNING_KEYS_PUBLISH_LEAD: String(PUBLISH_LEAD),
        TOKEN_TTL: String(TOKEN_TTL),
        MAX_TOKEN_TTL: String(TOKEN_TTL),
        ID_JAG_TTL: String(TOKEN_TTL),
        CLOCK_SKEW: '0',
      },
    });
    keysDir = join(server.dir, 'keys');
  });
  afterAll(async () => server?.dispose());

  it('publish next → activate → retire → remove, with zero failed exchanges or verifications', async () => {
    // The startup key becomes the marked active one (same kid: nothing changes).
    renameSync(join(keysDir, 'sts-1.json'), join(keysDir, 'sts-1.active.json'));

    const resourceServer = createRemoteJWKSet(new URL(`${server.baseUrl}/.well-known/jwks.json`));
    const failures: string[] = [];
    const issued: Array<{ token: string; exp: number; kid: string }> = [];
    let verified = 0;
    let stop = false;
    const verify = async (token: string) => {
      try {
        await jwtVerify(token, resourceServer, { issuer: server.baseUrl, audience: 'https://api.example.com' });
        verified++;
      } catch (error) {
        failures.push(`verify ${decodeProtectedHeader(token).kid}: ${(error as Error).message}`);
      }
    };
    const client = async () => {
      while (!stop) {
        const response = await fetch(`${server.baseUrl}/oauth/token`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`gateway:${SECRET}`).toString('base64')}`,
          },
          body: new URLSearchParams({
            grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
            subject_token: await idp.mint({ sub: 'alice', aud: AUDIENCE }),
            subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          }),
        });
        const body = (await response.json()) as { access_token?: string; expires_in?: number };
        if (response.status !== 200 || !body.access_token) {
          failures.push(`exchange ${response.status}: ${JSON.stringify(body)}`);
          continue;
        }
        const token = body.access_token;
        // The signed exp (whole seconds from the server's clock), not now + expires_in, which can be up to a
        // second later than it: the re-check below keeps a true 1 s margin.
        issued.push({ token, exp: decodeJwt(token).exp!, kid: decodeProtectedHeader(token).kid! });
        await verify(token);
        // An earlier token, still valid, verified again (a resource server sees tokens of every age).
        const earlier = issued[Math.floor(Math.random() * issued.length)]!;
        if (earlier.exp > Date.now() / 1000 + 1) await verify(earlier.token);
      }
    };
    const load = Promise.all([client(), client(), client(), client()]);
    const signingKid = () => issued.at(-1)?.kid;

    try {
      await until('tokens of sts-1', () => issued.length > 20, 10_000);
      expect(signingKid()).toBe('sts-1');

      // 1. Publish the next key: in the JWKS at the next re-read, not signing.
      const generated = await keysCli('generate', '--kid', 'sts-2');
      expect(generated.stderr).toContain('public key (kid sts-2):');
      expect(existsSync(join(keysDir, 'sts-2.json'))).toBe(true);
      await until('sts-2 published', async () => (await jwksKids()).includes('sts-2'), 5000);
      const publishedAt = Date.now();
      expect(await jwksKids()).toEqual(['sts-1', 'sts-2']);

      // 2. Mark it active at once: the server waits out the publish lead before signing with it.
      await keysCli('activate', 'sts-2');
      expect(existsSync(join(keysDir, 'sts-2.active.json'))).toBe(true);
      expect(existsSync(join(keysDir, 'sts-1.json'))).toBe(true);
      await server.waitFor(/kid sts-2 is marked active but has been published only since .*; kid sts-1 keeps signing/);
      expect(signingKid()).toBe('sts-1');
      await until('tokens of sts-2', () => signingKid() === 'sts-2', (PUBLISH_LEAD + 10) * 1000);
      expect(Date.now() - publishedAt).toBeGreaterThanOrEqual((PUBLISH_LEAD - 2) * 1000);
      const switchedAt = Date.now();

      // 3. Retire the old key: its public part stays published.
      await keysCli('retire', 'sts-1');
      expect(JSON.parse(readFileSync(join(keysDir, 'sts-1.json'), 'utf8'))).not.toHaveProperty('d');
      // 4. Remove it: the server keeps publishing it until the tokens it signed have expired.
      rmSync(join(keysDir, 'sts-1.json'));
      await server.waitFor(/kid sts-1: removed from SIGNING_KEYS, stays published until/);
      expect(await jwksKids()).toEqual(['sts-2', 'sts-1']);
      await until('sts-1 withdrawn', async () => !(await jwksKids()).includes('sts-1'), (TOKEN_TTL + 10) * 1000);
      expect(Date.now() - switchedAt).toBeGreaterThanOrEqual((TOKEN_TTL - 2) * 1000);
      expect(await jwksKids()).toEqual(['sts-2']);
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      stop = true;
      await load;
    }

    expect(failures).toEqual([]);
    expect(issued.filter((t) => t.kid === 'sts-1').length).toBeGreaterThan(20);
    expect(issued.filter((t) => t.kid === 'sts-2').length).toBeGreaterThan(20);
    expect(verified).toBeGreaterThan(issued.length);
    const audit = readFileSync(server.auditFile, 'utf8')
      .split('\n')
      .filter((line) => line.includes('"config.reloaded"'))
      .map((line) => JSON.parse(line) as { trigger: string; changes: { keys: unknown } });
    expect(audit.map((line) => [line.trigger, line.changes.keys])).toEqual([
      ['interval', { added: ['sts-2'], removed: [] }],
      ['interval', { added: [], removed: [], active: { from: 'sts-1', to: 'sts-2' } }],
      ['interval', { added: [], removed: ['sts-1'] }],
    ]);
  });
});
