import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRemoteJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, type JWK } from 'jose';
import { ConfigReloader } from '../../src/app/config-reloader.js';
import { freePort } from '../support/free-port.js';
import { claimsOf, GRANT_TOKEN_EXCHANGE, postToken, startTestApp, TT, type TestApp } from '../support/test-app.js';
import { createTestIssuer, type TestIssuer } from '../support/test-issuer.js';

/**
 * Rotating actbridge's own signing key the safe way: publish the next key before using it, switch the
 * active key, keep the old one published until its tokens expire. Each step is a restart with new
 * configuration, as a rolling deployment would do it (SIGNING_KEY_ID); rotation on a running server
 * is key-rotation-live.e2e-spec.ts.
 */
describe('signing key rotation', () => {
  let idp: TestIssuer;
  let keysDir: string;
  let port: number;
  const keys: Record<string, { private: JWK; public: JWK }> = {};

  const start = (env: Record<string, string>): Promise<TestApp> =>
    startTestApp({
      port,
      anchors: { idp: { issuer: idp.issuer, jwks: idp.publicJwks, audiences: ['urn:sts'] } },
      clients: [
        {
          client_id: 'agent',
          token_endpoint_auth_method: 'client_secret_basic',
          client_secret: 'agent-secret-0123456789',
          audiences: ['https://api.example', 'agent'],
        },
      ],
      env: { SIGNING_KEYS: keysDir, ...env },
    });

  const issue = async (sts: TestApp, subjectToken?: string) => {
    const res = await postToken(
      sts,
      {
        grant_type: GRANT_TOKEN_EXCHANGE,
        subject_token: subjectToken ?? (await idp.mint({ sub: 'alice', aud: 'urn:sts' })),
        subject_token_type: TT.accessToken,
        audience: subjectToken ? 'https://api.example' : 'agent',
      },
      { basic: ['agent', 'agent-secret-0123456789'] },
    );
    expect(res.status).toBe(200);
    return res.body.access_token as string;
  };

  const writeKey = (file: string, jwk: JWK) => writeFileSync(join(keysDir, file), JSON.stringify(jwk));

  beforeAll(async () => {
    idp = await createTestIssuer('https://idp.example');
    keysDir = mkdtempSync(join(tmpdir(), 'actbridge-keys-'));
    port = await freePort();
    for (const [kid, alg] of [
      ['key-a', 'ES256'],
      ['key-b', 'RS256'],
    ] as const) {
      const pair = await generateKeyPair(alg, { extractable: true });
      keys[kid] = {
        private: { ...(await exportJWK(pair.privateKey)), kid, alg },
        public: { ...(await exportJWK(pair.publicKey)), kid, alg },
      };
    }
  });
  afterAll(() => rmSync(keysDir, { recursive: true, force: true }));

  it('publishes the next key before use, switches, and keeps verifying old tokens', async () => {
    // Step 1: key-a active, key-b published ahead of use.
    writeKey('a.json', keys['key-a']!.private);
    writeKey('b.json', keys['key-b']!.private);
    let sts = await start({ SIGNING_KEY_ID: 'key-a' });
    const oldToken = await issue(sts);
    expect(decodeProtectedHeader(oldToken)).toMatchObject({ kid: 'key-a', alg: 'ES256', typ: 'at+jwt' });
    const jwks1 = (await (await fetch(`${sts.issuer}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
    expect(jwks1.keys.map((k) => k.kid)).toEqual(['key-a', 'key-b']);
    for (const key of jwks1.keys) expect(Object.keys(key)).not.toEqual(expect.arrayContaining(['d']));
    await sts.close();

    // Step 2: key-b active; key-a retired (public part only) but still published.
    writeKey('a.json', keys['key-a']!.public);
    sts = await start({ SIGNING_KEY_ID: 'key-b' });
    try {
      const newToken = await issue(sts);
      expect(decodeProtectedHeader(newToken)).toMatchObject({ kid: 'key-b', alg: 'RS256' });
      const remote = createRemoteJWKSet(new URL(`${sts.issuer}/.well-known/jwks.json`));
      await expect(jwtVerify(oldToken, remote, { issuer: sts.issuer })).resolves.toBeDefined();
      await expect(jwtVerify(newToken, remote, { issuer: sts.issuer })).resolves.toBeDefined();
      // A token signed with the retired key still works as a subject token in a chain.
      const chained = await issue(sts, oldToken);
      expect(claimsOf(chained).act).toEqual({ sub: 'agent', iss: sts.issuer, act: { sub: 'agent', iss: sts.issuer } });
    } finally {
      await sts.close();
    }

    // Step 3: key-a withdrawn: its tokens are no longer accepted. No ES256 key is published any more, so
    // actbridge's own allowlist (the algorithms of its published keys) refuses before key lookup.
    rmSync(join(keysDir, 'a.json'));
    sts = await start({});
    try {
      const res = await postToken(
        sts,
        {
          grant_type: GRANT_TOKEN_EXCHANGE,
          subject_token: oldToken,
          subject_token_type: TT.accessToken,
          audience: 'https://api.example',
        },
        { basic: ['agent', 'agent-secret-0123456789'] },
      );
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: 'invalid_request',
        error_description: `subject_token alg 'ES256' is not accepted from issuer ${sts.issuer}`,
      });
    } finally {
      await sts.close();
    }
  });
});

describe('the revocation list across a rotation on a running server', () => {
  it('is signed again by the new key once it signs, so it verifies after the retired key left the JWKS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'actbridge-keys-'));
    const jwk = async (kid: string) => ({
      ...(await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey)),
      kid,
    });
    writeFileSync(join(dir, 'k1.active.json'), JSON.stringify(await jwk('k1')));
    const sts = await startTestApp({
      clients: [],
      env: {
        SIGNING_KEYS: dir,
        SIGNING_KEYS_RELOAD_INTERVAL: '0',
        SIGNING_KEYS_PUBLISH_LEAD: '2',
        TOKEN_TTL: '2',
        MAX_TOKEN_TTL: '2',
        ID_JAG_TTL: '2',
        CLOCK_SKEW: '0',
      },
    });
    const reloadKeys = () => sts.app.get(ConfigReloader).reloadKeys('manual');
    const list = async () => (await fetch(`${sts.baseUrl}/oauth/revocations`)).text();
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    try {
      expect(decodeProtectedHeader(await list()).kid).toBe('k1');
      // Publish k2, mark it active, and let the publish lead pass: k2 signs.
      writeFileSync(join(dir, 'k2.json'), JSON.stringify(await jwk('k2')));
      await reloadKeys();
      renameSync(join(dir, 'k2.json'), join(dir, 'k2.active.json'));
      renameSync(join(dir, 'k1.active.json'), join(dir, 'k1.json'));
      await sleep(2100);
      expect(await reloadKeys()).toMatchObject({ changes: { keys: { active: { from: 'k1', to: 'k2' } } } });
      expect(decodeProtectedHeader(await list()).kid).toBe('k2');
      // k1 removed, and withdrawn once the tokens it signed have expired (MAX_TOKEN_TTL).
      rmSync(join(dir, 'k1.json'));
      await sleep(2100);
      expect(await reloadKeys()).toMatchObject({ changes: { keys: { removed: ['k1'] } } });
      const remote = createRemoteJWKSet(new URL(`${sts.baseUrl}/.well-known/jwks.json`));
      await expect(jwtVerify(await list(), remote, { issuer: sts.issuer })).resolves.toMatchObject({
        protectedHeader: { kid: 'k2', typ: 'revocation-list+jwt' },
      });
    } finally {
      await sts.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('signing algorithms', () => {
  it.each(['ES256', 'RS256', 'EdDSA'] as const)(
    'issues %s tokens that verify against the published JWKS',
    async (alg) => {
      const idp = await createTestIssuer('https://idp.example');
      const sts = await startTestApp({
        anchors: { idp: { issuer: idp.issuer, jwks: idp.publicJwks, audiences: ['urn:sts'] } },
        clients: [
          {
            client_id: 'agent',
            token_endpoint_auth_method: 'client_secret_basic',
            client_secret: 'agent-secret-0123456789',
            audiences: ['https://api.example'],
          },
        ],
        env: { SIGNING_ALG: alg },
      });
      try {
        const res = await postToken(
          sts,
          {
            grant_type: GRANT_TOKEN_EXCHANGE,
            subject_token: await idp.mint({ sub: 'alice', aud: 'urn:sts' }),
            subject_token_type: TT.accessToken,
            audience: 'https://api.example',
          },
          { basic: ['agent', 'agent-secret-0123456789'] },
        );
        const token = res.body.access_token as string;
        expect(decodeProtectedHeader(token)).toMatchObject({ alg, typ: 'at+jwt', kid: expect.any(String) });
        const remote = createRemoteJWKSet(new URL(`${sts.issuer}/.well-known/jwks.json`));
        await expect(
          jwtVerify(token, remote, { issuer: sts.issuer, audience: 'https://api.example', algorithms: [alg] }),
        ).resolves.toBeDefined();
      } finally {
        await sts.close();
      }
    },
  );
});
