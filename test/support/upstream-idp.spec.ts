import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import * as client from 'openid-client';

import { startUpstreamIdp, type UpstreamIdp } from './upstream-idp.js';

const RESOURCE = 'https://api.example.test/';
const OTHER_RESOURCE = 'urn:example:other-api';
const CLIENT = { client_id: 'sts-client', client_secret: 'sts-client-secret-0123456789abcdef' };
const AGENT = { client_id: 'agent-client', client_secret: 'agent-client-secret-0123456789abcdef' };
const MAY_ACT = { may_act: { sub: 'agent-client' } };

describe('upstream IdP test fixture (real oidc-provider over HTTP)', () => {
  let idp: UpstreamIdp;

  beforeAll(async () => {
    idp = await startUpstreamIdp({
      clients: [CLIENT, AGENT],
      resources: { [RESOURCE]: { scope: 'read write' }, [OTHER_RESOURCE]: { scope: 'other' } },
      extraUserAccessTokenClaims: { alice: MAY_ACT },
    });
  });

  afterAll(async () => {
    await idp?.close();
  });

  it('serves discovery that openid-client accepts, with a matching issuer', async () => {
    expect(idp.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const before = idp.stats.discoveryRequests;
    const config = await client.discovery(new URL(idp.issuer), CLIENT.client_id, CLIENT.client_secret, undefined, {
      execute: [client.allowInsecureRequests],
    });
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(idp.issuer);
    expect(metadata.jwks_uri).toBe(idp.jwksUri);
    expect(metadata.grant_types_supported).toEqual(
      expect.arrayContaining(['client_credentials', 'urn:openid:params:grant-type:ciba']),
    );
    expect(idp.stats.discoveryRequests).toBe(before + 1);
  });

  it('issues RFC 9068 client_credentials access tokens that verify against the JWKS', async () => {
    const token = await idp.clientCredentialsToken(CLIENT.client_id, { resource: RESOURCE, scope: 'read' });
    const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(idp.jwksUri)), {
      issuer: idp.issuer,
      audience: RESOURCE,
      typ: 'at+jwt',
    });
    expect(protectedHeader).toMatchObject({ alg: 'RS256', typ: 'at+jwt', kid: idp.currentKid() });
    expect(payload).toMatchObject({ sub: CLIENT.client_id, client_id: CLIENT.client_id, aud: RESOURCE, scope: 'read' });
    expect(typeof payload.jti).toBe('string');
    expect(payload.exp! - payload.iat!).toBe(3600);
    expect(payload).not.toHaveProperty('may_act');

    // scope defaults to everything the resource accepts
    const all = await idp.clientCredentialsToken(AGENT.client_id, { resource: RESOURCE });
    expect((await jwtVerify(all, createRemoteJWKSet(new URL(idp.jwksUri)))).payload).toMatchObject({
      sub: AGENT.client_id,
      scope: 'read write',
    });
  });

  it('rejects unknown resources and unknown clients', async () => {
    await expect(
      idp.clientCredentialsToken(CLIENT.client_id, { resource: 'https://unknown.example/' }),
    ).rejects.toMatchObject({ name: 'UpstreamIdpError', error: 'invalid_target', status: 400 });
    await expect(
      idp.userTokens('alice', { clientId: CLIENT.client_id, resource: 'https://unknown.example/' }),
    ).rejects.toMatchObject({ error: 'invalid_target' });
    await expect(idp.clientCredentialsToken('nobody', { resource: RESOURCE })).rejects.toThrow(/unknown client nobody/);
  });

  it("issues a user's JWT access token and id_token via auto-approved CIBA", async () => {
    const started = Date.now();
    const { accessToken, idToken } = await idp.userTokens('alice', { clientId: CLIENT.client_id, resource: RESOURCE });
    expect(Date.now() - started).toBeLessThan(4000); // no 5 s polling interval
    const jwks = createRemoteJWKSet(new URL(idp.jwksUri));

    const at = await jwtVerify(accessToken, jwks, { issuer: idp.issuer, audience: RESOURCE, typ: 'at+jwt' });
    expect(at.payload).toMatchObject({
      sub: 'alice',
      aud: RESOURCE,
      client_id: CLIENT.client_id,
      scope: 'read write',
      ...MAY_ACT,
    });
    expect(typeof at.payload.jti).toBe('string');

    const id = await jwtVerify(idToken, jwks, { issuer: idp.issuer, audience: CLIENT.client_id });
    expect(id.protectedHeader.typ).toBeUndefined();
    expect(id.payload).toMatchObject({ sub: 'alice', aud: CLIENT.client_id });
    expect(id.payload).not.toHaveProperty('may_act');

    // narrower scope, other client, other user without extra claims, other resource
    const bob = await idp.userTokens('bob', {
      clientId: AGENT.client_id,
      resource: OTHER_RESOURCE,
      scope: 'openid other',
    });
    const bobAt = await jwtVerify(bob.accessToken, jwks, { audience: OTHER_RESOURCE });
    expect(bobAt.payload).toMatchObject({ sub: 'bob', client_id: AGENT.client_id, scope: 'other' });
    expect(bobAt.payload).not.toHaveProperty('may_act');
    expect((await jwtVerify(bob.idToken, jwks, { audience: AGENT.client_id })).payload.sub).toBe('bob');
  });

  it('rotates the signing key behind the same issuer and publishes old and new keys', async () => {
    const oldKid = idp.currentKid();
    const oldToken = await idp.clientCredentialsToken(CLIENT.client_id, { resource: RESOURCE });
    const newKid = await idp.rotateSigningKey();
    expect(newKid).not.toBe(oldKid);
    expect(idp.currentKid()).toBe(newKid);

    const newToken = await idp.clientCredentialsToken(CLIENT.client_id, { resource: RESOURCE });
    expect(decodeProtectedHeader(oldToken).kid).toBe(oldKid);
    expect(decodeProtectedHeader(newToken).kid).toBe(newKid);
    const user = await idp.userTokens('alice', { clientId: CLIENT.client_id, resource: RESOURCE });
    expect(decodeProtectedHeader(user.accessToken).kid).toBe(newKid);
    expect(decodeProtectedHeader(user.idToken).kid).toBe(newKid);

    const jwks = (await (await fetch(idp.jwksUri)).json()) as JSONWebKeySet;
    expect(jwks.keys.map((k) => k.kid)).toEqual(expect.arrayContaining([oldKid, newKid]));
    for (const key of jwks.keys) expect(key).not.toHaveProperty('d'); // public parts only

    const remote = createRemoteJWKSet(new URL(idp.jwksUri));
    await expect(jwtVerify(oldToken, remote)).resolves.toBeDefined();
    await expect(jwtVerify(newToken, remote)).resolves.toBeDefined();

    // same server, same issuer
    const discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as {
      issuer: string;
    };
    expect(discovery.issuer).toBe(idp.issuer);
  });

  it("simulates JWKS outages ('down' = 503, 'hang' = no answer) while discovery keeps working", async () => {
    try {
      idp.setJwksMode('down');
      const down = await fetch(idp.jwksUri);
      expect(down.status).toBe(503);
      await down.body?.cancel();

      idp.setJwksMode('hang');
      await expect(fetch(idp.jwksUri, { signal: AbortSignal.timeout(1000) })).rejects.toMatchObject({
        name: 'TimeoutError',
      });
      // a second hung request that stays open until close()
      const pending = fetch(idp.jwksUri).then(
        () => 'answered',
        () => 'failed',
      );

      const discovery = await fetch(`${idp.issuer}/.well-known/openid-configuration`, {
        signal: AbortSignal.timeout(1000),
      });
      expect(discovery.status).toBe(200);
      await discovery.body?.cancel();
      // token issuance is unaffected as well
      await expect(idp.clientCredentialsToken(CLIENT.client_id, { resource: RESOURCE })).resolves.toMatch(/^ey/);

      idp.setJwksMode('ok');
      const ok = await fetch(idp.jwksUri);
      expect(ok.status).toBe(200);
      await ok.body?.cancel();
      // `pending` is still hanging here; the afterAll close() destroys its socket (the ES256 test checks that).
      void pending;
    } finally {
      idp.setJwksMode('ok');
    }
  });

  it('counts external discovery and JWKS GETs only', async () => {
    idp.resetStats();
    expect(idp.stats).toEqual({ discoveryRequests: 0, jwksRequests: 0, introspectionRequests: 0 });

    // the fixture's own openid-client traffic is not counted
    await idp.clientCredentialsToken(CLIENT.client_id, { resource: RESOURCE });
    await idp.userTokens('alice', { clientId: CLIENT.client_id, resource: RESOURCE });
    expect(idp.stats).toEqual({ discoveryRequests: 0, jwksRequests: 0, introspectionRequests: 0 });

    for (let i = 0; i < 2; i++) await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).arrayBuffer();
    for (let i = 0; i < 3; i++) await (await fetch(idp.jwksUri)).arrayBuffer();
    idp.setJwksMode('down');
    await (await fetch(idp.jwksUri)).arrayBuffer();
    idp.setJwksMode('ok');
    expect(idp.stats).toEqual({ discoveryRequests: 2, jwksRequests: 4, introspectionRequests: 0 });
  });
});

describe('upstream IdP test fixture: opaque tokens, introspection, revocation', () => {
  const OPAQUE = 'urn:example:opaque-api';
  let idp: UpstreamIdp;

  beforeAll(async () => {
    idp = await startUpstreamIdp({
      clients: [CLIENT, AGENT],
      resources: { [OPAQUE]: { scope: 'read', format: 'opaque' } },
      introspectionClients: [AGENT.client_id],
    });
  });

  afterAll(async () => {
    await idp?.close();
  });

  const introspect = async (clientId: typeof CLIENT | typeof AGENT, token: string) => {
    const config = await client.discovery(new URL(idp.issuer), clientId.client_id, clientId.client_secret, undefined, {
      execute: [client.allowInsecureRequests],
    });
    return client.tokenIntrospection(config, token);
  };

  it('issues opaque access tokens that only allowed clients can introspect, and counts those requests', async () => {
    const { accessToken } = await idp.userTokens('alice', { clientId: CLIENT.client_id, resource: OPAQUE });
    expect(accessToken.split('.')).toHaveLength(1);
    expect(idp.introspectionEndpoint).toBe(`${idp.issuer}/token/introspection`);
    idp.resetStats();
    expect(await introspect(AGENT, accessToken)).toMatchObject({
      active: true,
      sub: 'alice',
      client_id: CLIENT.client_id,
      aud: OPAQUE,
      scope: 'read',
      token_type: 'Bearer',
    });
    expect(await introspect(CLIENT, accessToken)).toEqual({ active: false });
    expect(idp.stats.introspectionRequests).toBe(2);
  });

  it('revokes tokens and can take the introspection endpoint down', async () => {
    const { accessToken } = await idp.userTokens('alice', { clientId: CLIENT.client_id, resource: OPAQUE });
    await idp.revokeToken(CLIENT.client_id, accessToken);
    expect(await introspect(AGENT, accessToken)).toEqual({ active: false });
    idp.setIntrospectionMode('down');
    try {
      await expect(introspect(AGENT, accessToken)).rejects.toMatchObject({ cause: { status: 503 } });
    } finally {
      idp.setIntrospectionMode('ok');
    }
  });
});

describe('upstream IdP test fixture with ES256 and close()', () => {
  it('signs with ES256 and closes everything, including hung JWKS requests', async () => {
    const idp = await startUpstreamIdp({
      clients: [CLIENT],
      resources: { [RESOURCE]: { scope: 'read' } },
      signingAlg: 'ES256',
    });
    let hung: Promise<string> | undefined;
    try {
      const jwks = createRemoteJWKSet(new URL(idp.jwksUri));
      const token = await idp.clientCredentialsToken(CLIENT.client_id, { resource: RESOURCE });
      expect((await jwtVerify(token, jwks, { typ: 'at+jwt' })).protectedHeader.alg).toBe('ES256');
      const { idToken } = await idp.userTokens('carol', { clientId: CLIENT.client_id, resource: RESOURCE });
      expect((await jwtVerify(idToken, jwks, { audience: CLIENT.client_id })).protectedHeader.alg).toBe('ES256');

      idp.setJwksMode('hang');
      hung = fetch(idp.jwksUri).then(
        () => 'answered',
        () => 'failed',
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      await idp.close();
    }
    await expect(hung).resolves.toBe('failed'); // the hung socket was destroyed by close()
    await expect(fetch(idp.jwksUri)).rejects.toThrow(); // nothing listens any more
    await expect(idp.close()).resolves.toBeUndefined(); // idempotent
  });
});
