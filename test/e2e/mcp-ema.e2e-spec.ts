import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { connectChatClient, ACME_CHAT } from '../../examples/mcp-ema/chat-client.js';
import {
  ID_JAG_TOKEN_TYPE as ID_JAG,
  ID_TOKEN_TYPE,
  IdJagRequestError,
  JWT_BEARER_GRANT as JWT_BEARER,
  SAML2_TOKEN_TYPE,
  TOKEN_EXCHANGE_GRANT,
  type IdentityAssertion,
} from '../../examples/mcp-ema/ema-auth-provider.js';
import { readSide, type Origins, type Side } from '../../examples/mcp-ema/example-config.js';
import type { TracedCall } from '../../examples/mcp-ema/http-trace.js';
import { startTodoMcpServer, type TodoMcpServer } from '../../examples/mcp-ema/todo-mcp-server.js';
import { loadStsConfig } from '../../src/app/sts-config.js';
import { TokenMinter } from '../../src/keys/token-minter.js';
import { freePort } from '../support/free-port.js';
import { base64url, createSamlTestIdp, EMAIL_FORMAT, type SamlTestIdp } from '../support/saml-idp.js';
import { claimsOf, postToken, startTestApp, type TestApp } from '../support/test-app.js';
import { expectTokenRefused } from '../support/errors.js';
import { basicClient } from '../support/clients.js';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';

/**
 * MCP Enterprise-Managed Authorization (io.modelcontextprotocol/enterprise-managed-authorization) end to
 * end, over real HTTP on loopback, with the example's code and configuration (examples/mcp-ema):
 *   enterprise SSO   = oidc-provider (ID tokens issued to the MCP client), and a samlify SAML IdP;
 *   enterprise IdP   = actbridge with examples/mcp-ema/enterprise (profile mcp), its SSO anchor's rules
 *                      pointed at those two IdPs: identity assertion → ID-JAG (token exchange);
 *   MCP AS           = actbridge with examples/mcp-ema/mcp-as: ID-JAG → access token (jwt-bearer);
 *   MCP server       = the example's, official SDK (Streamable HTTP), actbridge/verify, RFC 9728 metadata;
 *   MCP client       = the example's, official SDK Client with the EMA auth provider.
 * The example's origins are moved to free ports. Refusals are asserted exactly, with their audit line.
 */

const ID_JAG_TYP = 'oauth-id-jag+jwt';
const PERSISTENT_FORMAT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
const AT_ENTERPRISE = ACME_CHAT.atEnterprise;
const AT_TODOS = ACME_CHAT.atTodos;
const asChatAtEnterprise = { basic: [AT_ENTERPRISE.clientId, AT_ENTERPRISE.clientSecret] as [string, string] };
const asChatAtTodos = { basic: [AT_TODOS.clientId, AT_TODOS.clientSecret] as [string, string] };

let origins: Origins;
let upstream: UpstreamIdp;
let saml: SamlTestIdp;
let enterprise: TestApp;
let mcpAs: TestApp;
let todos: TodoMcpServer;
let notes: TodoMcpServer; // a second MCP server behind the same authorization server, outside the XAA policy
let samlSp: { entity_id: string; acs_urls: string[] };
const idTokens: Record<'alice' | 'bob', string> = { alice: '', bob: '' };

/** An ID-JAG request of the MCP client at the enterprise, as EMA §4's example. */
const idJagRequest = (extra: Record<string, string | readonly string[] | undefined> = {}) => ({
  grant_type: TOKEN_EXCHANGE_GRANT,
  requested_token_type: ID_JAG,
  audience: mcpAs.issuer,
  resource: todos.resource,
  subject_token: idTokens.alice,
  subject_token_type: ID_TOKEN_TYPE,
  ...extra,
});

async function issuedIdJag(extra: Record<string, string | undefined> = {}): Promise<string> {
  const res = await postToken(enterprise, idJagRequest(extra), asChatAtEnterprise);
  expect(res.status).toBe(200);
  return res.body.access_token as string;
}

const redeem = (assertion: string, extra: Record<string, string | undefined> = {}) =>
  postToken(mcpAs, { grant_type: JWT_BEARER, assertion, ...extra }, asChatAtTodos);

/** An ID-JAG signed by the enterprise's own key with exactly these claims (a non-MCP IdP's, or a stale one). */
async function enterpriseSignedIdJag(claims: Record<string, unknown>, issuedAt: number, expiresAt: number) {
  const minted = await enterprise.app
    .get(TokenMinter)
    .mint(
      { sub: 'alice', aud: mcpAs.issuer, client_id: AT_TODOS.clientId, scope: 'todos.read', ...claims },
      { typ: ID_JAG_TYP, issuedAt, expiresAt },
    );
  return minted.token;
}

const idTokenOf = (user: 'alice' | 'bob') => (): IdentityAssertion => ({ token: idTokens[user], type: ID_TOKEN_TYPE });
const form = (call: TracedCall | undefined) => Object.fromEntries(new URLSearchParams(call?.requestBody ?? ''));

beforeAll(async () => {
  const [portE, portA, portT, portN] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  origins = {
    enterprise: `http://127.0.0.1:${portE}`,
    mcpAs: `http://127.0.0.1:${portA}`,
    mcpServer: `http://127.0.0.1:${portT}`,
  };
  const enterpriseConfig = readSide('enterprise', origins);
  const mcpAsConfig = readSide('mcp-as', origins);
  samlSp = (enterpriseConfig.clients[0]!.id_jag as { saml_sp: typeof samlSp }).saml_sp;

  upstream = await startUpstreamIdp({
    clients: [
      { client_id: AT_ENTERPRISE.clientId, client_secret: 'acme-chat-secret-at-the-sso' },
      { client_id: 'other-app', client_secret: 'other-app-secret-at-the-sso' },
    ],
    resources: { [origins.enterprise]: { scope: 'profile' } },
    extraUserIdTokenClaims: {
      alice: { email: 'alice@acme.example', email_verified: true, groups: ['engineering'] },
      // An address the IdP has not verified: not passed on in the ID-JAG.
      bob: { email: 'bob@acme.example', email_verified: false, groups: ['sales'] },
    },
    signingAlg: 'ES256',
  });
  saml = await createSamlTestIdp({
    entityId: 'https://sso.acme.example/saml',
    spEntityId: samlSp.entity_id,
    tokenEndpoint: samlSp.acs_urls[0]!,
  });

  // The example's SSO anchor (its rules) for the two real IdPs instead of the demo one.
  const { jwks_file: _file, development_only: _dev, ...demoSso } = enterpriseConfig.anchors['demo-sso']!;
  enterprise = await startTestApp({
    port: portE,
    anchors: {
      sso: { ...demoSso, issuer: upstream.issuer },
      'sso-saml': {
        kind: 'saml',
        issuer: saml.entityId,
        saml: { certificates: [saml.certificate] },
        rules: demoSso.rules,
      },
    },
    clients: [
      ...enterpriseConfig.clients,
      basicClient('other-app', 'other-app-secret-at-enterprise', {
        audiences: [],
        id_jag: {
          profile: 'mcp',
          targets: [{ audience: origins.mcpAs, client_id: 'other', resources: ['https://other.example/mcp'] }],
        },
      }),
    ],
  });
  mcpAs = await startTestApp({ port: portA, ...mcpAsConfig });
  todos = await startTodoMcpServer({
    port: portT,
    publicOrigin: origins.mcpServer,
    authorizationServer: mcpAs.issuer,
  });
  notes = await startTodoMcpServer({
    port: portN,
    publicOrigin: `http://127.0.0.1:${portN}`,
    authorizationServer: mcpAs.issuer,
    name: 'notes',
  });
  for (const user of ['alice', 'bob'] as const) {
    idTokens[user] = await upstream.idToken(user, AT_ENTERPRISE.clientId, origins.enterprise);
  }
});

afterAll(async () => {
  await notes?.close();
  await todos?.close();
  await mcpAs?.close();
  await enterprise?.close();
  await upstream?.close();
});

describe('the MCP server (RFC 9728)', () => {
  it('publishes Protected Resource Metadata naming actbridge as its authorization server', async () => {
    const res = await fetch(todos.metadataUrl);
    expect({ status: res.status, body: await res.json() }).toEqual({
      status: 200,
      body: {
        resource: `${origins.mcpServer}/mcp`,
        authorization_servers: [mcpAs.issuer],
        scopes_supported: ['todos.read', 'todos.write'],
        bearer_methods_supported: ['header'],
        resource_name: 'Todos (actbridge MCP EMA example)',
      },
    });
  });

  it('answers a request without a token 401, pointing at that metadata', async () => {
    const res = await fetch(todos.resource, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(
      new RegExp(`^Bearer resource_metadata="${todos.metadataUrl}", DPoP algs="[^"]+", resource_metadata="`),
    );
  });
});

/** The example chat client signed in with `identityAssertion`, and the calls it makes, in order. */
async function tracedChat(identityAssertion: Parameters<typeof connectChatClient>[0]['identityAssertion']) {
  const calls: TracedCall[] = [];
  const chat = await connectChatClient({ origins, identityAssertion, onCall: (c) => calls.push(c) });
  return { chat, calls };
}

describe('OIDC: the SDK client signs in alice through oidc-provider, gets an ID-JAG, an access token, calls tools', () => {
  it('each hop as the profile says, the tool call for sub alice with her scopes', async () => {
    const { chat, calls } = await tracedChat(idTokenOf('alice'));
    try {
      const listed = await chat.client.callTool({ name: 'list_todos', arguments: {} });
      expect(listed.structuredContent).toEqual({ user: 'alice', scopes: ['todos.read', 'todos.write'], todos: [] });
      const added = await chat.client.callTool({ name: 'add_todo', arguments: { text: 'ship the EMA docs' } });
      expect(added.structuredContent).toEqual({
        user: 'alice',
        scopes: ['todos.read', 'todos.write'],
        todos: ['ship the EMA docs'],
      });
    } finally {
      await chat.close();
    }

    // The discovery and grant sequence the SDK's 401 handling ran.
    expect(calls.slice(0, 6).map((c) => `${c.method} ${c.url} ${c.status}`)).toEqual([
      `POST ${todos.resource} 401`,
      `GET ${todos.metadataUrl} 200`,
      `GET ${mcpAs.issuer}/.well-known/oauth-authorization-server 200`,
      `GET ${enterprise.issuer}/.well-known/oauth-authorization-server 200`,
      `POST ${enterprise.tokenEndpoint} 200`,
      `POST ${mcpAs.tokenEndpoint} 200`,
    ]);

    // EMA §4: the token exchange at the enterprise, and its response.
    const exchange = calls[4]!;
    expect(form(exchange)).toEqual(idJagRequest());
    const issued = JSON.parse(exchange.responseBody) as Record<string, unknown>;
    expect(issued).toEqual({
      access_token: expect.any(String),
      issued_token_type: ID_JAG,
      token_type: 'N_A',
      expires_in: 300,
      scope: 'todos.read todos.write',
    });
    expect(exchange.responseHeaders['cache-control']).toBe('no-store');
    // EMA §4.3: the ID-JAG, verified with the enterprise's published keys.
    const idJag = await jwtVerify(
      issued.access_token as string,
      createRemoteJWKSet(new URL(`${enterprise.issuer}/.well-known/jwks.json`)),
      { issuer: enterprise.issuer, audience: mcpAs.issuer, typ: ID_JAG_TYP },
    );
    expect(idJag.payload).toMatchObject({
      sub: 'alice',
      aud: mcpAs.issuer,
      resource: todos.resource,
      client_id: AT_TODOS.clientId,
      scope: 'todos.read todos.write',
      jti: expect.any(String),
      iat: expect.any(Number),
      email: 'alice@acme.example',
    });
    expect(idJag.payload.exp! - idJag.payload.iat!).toBe(300);

    // EMA §5: the jwt-bearer grant at the MCP AS under the client's id there; the access token is for the resource.
    const redemption = calls[5]!;
    expect(form(redemption)).toEqual({
      grant_type: JWT_BEARER,
      assertion: issued.access_token,
      resource: todos.resource,
    });
    expect(redemption.requestHeaders.authorization).toBe(
      `Basic ${Buffer.from(`${AT_TODOS.clientId}:${AT_TODOS.clientSecret}`).toString('base64')}`,
    );
    const token = JSON.parse(redemption.responseBody) as Record<string, unknown>;
    expect(token).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: expect.any(Number),
      scope: 'todos.read todos.write',
    });
    const at = await jwtVerify(
      token.access_token as string,
      createRemoteJWKSet(new URL(`${mcpAs.issuer}/.well-known/jwks.json`)),
      { issuer: mcpAs.issuer, audience: todos.resource, typ: 'at+jwt' },
    );
    expect(at.payload).toMatchObject({
      sub: 'alice',
      aud: todos.resource,
      client_id: AT_TODOS.clientId,
      scope: 'todos.read todos.write',
      sub_id: { format: 'iss_sub', iss: enterprise.issuer, sub: 'alice' },
    });
    expect(at.payload.exp).toBeLessThanOrEqual(idJag.payload.exp!);
    // The retried MCP request carries it.
    expect(calls[6]!.requestHeaders.authorization).toBe(`Bearer ${token.access_token as string}`);

    expect(enterprise.audit.lines).toContainEqual(
      expect.objectContaining({
        event: 'token.issued',
        client_id: AT_ENTERPRISE.clientId,
        subject_token_type: ID_TOKEN_TYPE,
        subject: { sub: 'alice', iss: upstream.issuer },
        rule: 'sso/engineering',
        audience: [mcpAs.issuer],
        resource: [todos.resource],
        scope: 'todos.read todos.write',
        issued_token_type: ID_JAG,
        jti: idJag.payload.jti,
      }),
    );
    expect(mcpAs.audit.lines).toContainEqual(
      expect.objectContaining({
        event: 'token.issued',
        grant_type: JWT_BEARER,
        client_id: AT_TODOS.clientId,
        assertion_type: ID_JAG,
        subject: { sub: 'alice', iss: enterprise.issuer },
        audience: [todos.resource],
        scope: 'todos.read todos.write',
        jti: at.payload.jti,
      }),
    );
  });

  it("bob's policy grants todos.read only: list_todos works, add_todo is answered 403 insufficient_scope", async () => {
    const { chat, calls } = await tracedChat(idTokenOf('bob'));
    try {
      const listed = await chat.client.callTool({ name: 'list_todos', arguments: {} });
      expect(listed.structuredContent).toEqual({ user: 'bob', scopes: ['todos.read'], todos: [] });
      // bob's ID token says email_verified: false, so his ID-JAG names no email (OIDC Core §5.1).
      const idJag = JSON.parse(calls[4]!.responseBody) as { access_token: string };
      expect(claimsOf(idJag.access_token)).toMatchObject({ sub: 'bob', scope: 'todos.read' });
      expect(claimsOf(idJag.access_token)).not.toHaveProperty('email');
      // The SDK tries once more with a fresh grant (MCP step-up); the policy still says read only.
      await expect(chat.client.callTool({ name: 'add_todo', arguments: { text: 'nope' } })).rejects.toThrow(
        'Streamable HTTP error: Server returned 403 after trying upscoping',
      );
    } finally {
      await chat.close();
    }
    const refusals = calls.filter((c) => c.url === todos.resource && c.status === 403);
    expect(refusals).toHaveLength(2);
    for (const refusal of refusals) {
      expect(refusal.responseHeaders['www-authenticate']).toBe(
        `Bearer error="insufficient_scope", error_description="token lacks scope todos.write", scope="todos.write", resource_metadata="${todos.metadataUrl}"`,
      );
      expect(JSON.parse(refusal.responseBody)).toEqual({
        error: 'insufficient_scope',
        error_description: 'token lacks scope todos.write',
      });
    }
    expect(enterprise.audit.lines.at(-1)).toMatchObject({
      event: 'token.issued',
      subject: { sub: 'bob', iss: upstream.issuer },
      rule: 'sso/staff',
      scope: 'todos.read',
    });
  });

  it('bob asking for todos.write by name is refused at the enterprise (invalid_scope), before any token', async () => {
    const before = enterprise.audit.lines.length;
    const attempt = connectChatClient({
      origins,
      identityAssertion: idTokenOf('bob'),
      scope: 'todos.read todos.write',
    });
    await expect(attempt).rejects.toThrow(IdJagRequestError);
    await expect(attempt).rejects.toMatchObject({
      status: 400,
      error: 'invalid_scope',
      errorDescription: "scope exceeds what this subject's trust anchor policy grants",
    });
    expect(enterprise.audit.lines.slice(before)).toEqual([
      expect.objectContaining({ event: 'token.refused', error: 'invalid_scope', rule: 'sso/staff' }),
    ]);
  });

  it('an MCP server outside the XAA policy: the enterprise refuses the ID-JAG (invalid_target)', async () => {
    const attempt = connectChatClient({ origins, serverUrl: notes.resource, identityAssertion: idTokenOf('alice') });
    await expect(attempt).rejects.toMatchObject({
      error: 'invalid_target',
      errorDescription: `resource not allowed for this client at ${mcpAs.issuer}: '${notes.resource}'`,
    });
    expect(enterprise.audit.lines.at(-1)).toMatchObject({ event: 'token.refused', error: 'invalid_target' });
  });
});

describe('SAML: a signed assertion issued to the MCP client (its SP), exchanged for an ID-JAG', () => {
  const samlAssertion = (options: Parameters<SamlTestIdp['signedAssertion']>[0] = {}) =>
    base64url(
      saml.signedAssertion({ nameId: 'alice@acme.example', attributes: { groups: ['engineering'] }, ...options }),
    );
  const samlRequest = (subject_token: string) => idJagRequest({ subject_token, subject_token_type: SAML2_TOKEN_TYPE });

  it('the SDK client calls the tool as the NameID, with the policy of its groups', async () => {
    const assertion = samlAssertion();
    const { chat, calls } = await tracedChat(() => ({ token: assertion, type: SAML2_TOKEN_TYPE }));
    try {
      const listed = await chat.client.callTool({ name: 'list_todos', arguments: {} });
      expect(listed.structuredContent).toEqual({
        user: 'alice@acme.example',
        scopes: ['todos.read', 'todos.write'],
        todos: [],
      });
    } finally {
      await chat.close();
    }
    const exchange = calls.find((c) => c.url === enterprise.tokenEndpoint)!;
    expect(form(exchange)).toMatchObject({ subject_token: assertion, subject_token_type: SAML2_TOKEN_TYPE });
    const idJag = claimsOf(JSON.parse(exchange.responseBody).access_token as string);
    expect(idJag).toMatchObject({
      sub: 'alice@acme.example',
      sub_id: {
        format: 'saml-nameid',
        issuer: saml.entityId,
        nameid: 'alice@acme.example',
        nameid_format: EMAIL_FORMAT,
      },
      aud: mcpAs.issuer,
      resource: todos.resource,
      client_id: AT_TODOS.clientId,
      scope: 'todos.read todos.write',
    });
    expect(enterprise.audit.lines).toContainEqual(
      expect.objectContaining({
        event: 'token.issued',
        subject_token_type: SAML2_TOKEN_TYPE,
        subject: { sub: 'alice@acme.example', iss: saml.entityId },
        rule: 'sso-saml/engineering',
        issued_token_type: ID_JAG,
      }),
    );
  });

  it("accepts a signed Response delivered to the client's ACS", async () => {
    const response = await saml.response(
      { assertion: true, response: true },
      {
        nameId: 'alice@acme.example',
        attributes: { groups: ['sales'] },
      },
    );
    const res = await postToken(enterprise, samlRequest(base64url(response)), asChatAtEnterprise);
    expect(res.status).toBe(200);
    expect(claimsOf(res.body.access_token as string)).toMatchObject({ sub: 'alice@acme.example', scope: 'todos.read' });
  });

  it.each<[string, () => Promise<string> | string, string]>([
    [
      'an assertion addressed to actbridge instead of the client',
      () => samlAssertion({ audience: enterprise.issuer, recipient: enterprise.tokenEndpoint }),
      `subject_token audience is not accepted: its AudienceRestriction must name ${'https://chat.acme.example/saml'}`,
    ],
    [
      'an assertion delivered to another ACS',
      () => samlAssertion({ recipient: 'https://chat.acme.example/other-acs' }),
      "subject_token bearer SubjectConfirmation Recipient is not the client's assertion consumer service",
    ],
    [
      'a signed Response whose Destination is not the client',
      async () =>
        base64url(
          await saml.response({ assertion: true, response: true }, { destination: 'https://evil.example/acs' }),
        ),
      "subject_token Response Destination is not the client's assertion consumer service",
    ],
  ])('refuses %s (invalid_grant)', async (_name, assertion, description) =>
    expectTokenRefused(
      enterprise,
      async () => postToken(enterprise, samlRequest(await assertion()), asChatAtEnterprise),
      { error: 'invalid_grant', description: description },
    ),
  );

  it('carries the AuthnStatement as auth_time and acr, never attributes of those names (ID-JAG §3.1)', async () => {
    const authenticatedAt = Math.floor(Date.now() / 1000) - 30;
    const assertion = samlAssertion({
      issueInstant: new Date(authenticatedAt * 1000), // the template's AuthnInstant
      attributes: {
        groups: ['engineering'],
        acr: ['urn:acme:loa:mfa'],
        amr: ['mfa', 'hwk'],
        auth_time: [String(authenticatedAt + 20)],
      },
    });
    const res = await postToken(enterprise, samlRequest(assertion), asChatAtEnterprise);
    expect(res.status).toBe(200);
    const { auth_time, acr, amr } = claimsOf(res.body.access_token as string);
    expect({ auth_time, acr, amr }).toEqual({
      auth_time: authenticatedAt,
      acr: 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport',
      amr: undefined,
    });
  });

  it("names the NameID's qualifiers in sub_id, as its namespace (ID-JAG §3.3)", async () => {
    const xml = saml
      .unsignedAssertion({ nameId: 'u-4711', nameIdFormat: PERSISTENT_FORMAT, attributes: { groups: ['engineering'] } })
      .replace(
        '<saml:NameID Format=',
        '<saml:NameID NameQualifier="https://sso.acme.example/saml" SPNameQualifier="https://chat.acme.example/saml" SPProvidedID="chat-77" Format=',
      );
    const res = await postToken(enterprise, samlRequest(base64url(saml.sign(xml, 'exclusive'))), asChatAtEnterprise);
    expect(res.status).toBe(200);
    expect(claimsOf(res.body.access_token as string).sub_id).toEqual({
      format: 'saml-nameid',
      issuer: saml.entityId,
      nameid: 'u-4711',
      nameid_format: PERSISTENT_FORMAT,
      name_qualifier: 'https://sso.acme.example/saml',
      sp_name_qualifier: 'https://chat.acme.example/saml',
      sp_provided_id: 'chat-77',
    });
  });

  it('refuses the same assertion twice (its ID is single use)', async () => {
    const assertion = samlAssertion();
    expect((await postToken(enterprise, samlRequest(assertion), asChatAtEnterprise)).status).toBe(200);
    await expectTokenRefused(enterprise, () => postToken(enterprise, samlRequest(assertion), asChatAtEnterprise), {
      error: 'invalid_grant',
      description: 'subject_token has already been used (assertion ID replay)',
    });
  });

  it('spends an assertion only on an ID-JAG: one refused for its scope or target still serves the retry', async () => {
    // The SDK's step-up asks for the scope a tool lacks; a user whose policy denies it retries without.
    const assertion = samlAssertion({ attributes: { groups: ['sales'] } });
    await expectTokenRefused(
      enterprise,
      () => postToken(enterprise, { ...samlRequest(assertion), scope: 'todos.write' }, asChatAtEnterprise),
      { error: 'invalid_scope', description: "scope exceeds what this subject's trust anchor policy grants" },
    );
    await expectTokenRefused(
      enterprise,
      () => postToken(enterprise, { ...samlRequest(assertion), resource: notes.resource }, asChatAtEnterprise),
      {
        error: 'invalid_target',
        description: `resource not allowed for this client at ${mcpAs.issuer}: '${notes.resource}'`,
      },
    );
    const res = await postToken(enterprise, samlRequest(assertion), asChatAtEnterprise);
    expect(res.status).toBe(200);
    expect(claimsOf(res.body.access_token as string)).toMatchObject({ sub: 'alice@acme.example', scope: 'todos.read' });
    await expectTokenRefused(enterprise, () => postToken(enterprise, samlRequest(assertion), asChatAtEnterprise), {
      error: 'invalid_grant',
      description: 'subject_token has already been used (assertion ID replay)',
    });
  });

  it('refuses a SAML subject for an MCP client without a registered SP', () =>
    expectTokenRefused(
      enterprise,
      () =>
        postToken(
          enterprise,
          { ...samlRequest(samlAssertion()), resource: 'https://other.example/mcp' },
          { basic: ['other-app', 'other-app-secret-at-enterprise'] },
        ),
      {
        error: 'invalid_grant',
        description:
          'subject_token audience is not accepted: client other-app has no SAML service provider registered, so no SAML assertion is issued to it',
      },
    ));
});

describe('the enterprise (IdP role) refuses an ID-JAG request', () => {
  const refused = (form: Record<string, string | readonly string[] | undefined>, error: string, description: string) =>
    expectTokenRefused(enterprise, () => postToken(enterprise, form, asChatAtEnterprise), { error, description });

  it('without resource (EMA §4: REQUIRED)', () =>
    refused(
      idJagRequest({ resource: undefined }),
      'invalid_request',
      "resource is required for an ID-JAG under the MCP profile: the MCP server's RFC 9728 resource identifier",
    ));

  it('with two resources', () =>
    refused(
      idJagRequest({ resource: [todos.resource, notes.resource] }),
      'invalid_target',
      'an ID-JAG under the MCP profile names exactly one resource: the MCP server',
    ));

  it("for a resource outside the client's XAA policy", () =>
    refused(
      idJagRequest({ resource: notes.resource }),
      'invalid_target',
      `resource not allowed for this client at ${mcpAs.issuer}: '${notes.resource}'`,
    ));

  it('for an authorization server outside the policy', () =>
    refused(
      idJagRequest({ audience: 'https://as.elsewhere.example' }),
      'invalid_target',
      "audience not allowed for this client's ID-JAGs: 'https://as.elsewhere.example'",
    ));

  it('without audience', () =>
    refused(
      idJagRequest({ audience: undefined }),
      'invalid_request',
      "audience is required for an ID-JAG: the resource authorization server's issuer",
    ));

  it('with an ID token issued to another client (EMA §4.1)', async () => {
    const other = await upstream.idToken('alice', 'other-app', origins.enterprise);
    await refused(
      idJagRequest({ subject_token: other }),
      'invalid_grant',
      'subject_token audience is not accepted: an ID token must be issued to client acme-chat',
    );
  });
});

describe('the MCP authorization server refuses an ID-JAG', () => {
  const now = () => Math.floor(Date.now() / 1000);

  it('replayed (jti single use)', async () => {
    const idJag = await issuedIdJag();
    expect((await redeem(idJag)).status).toBe(200);
    await expectTokenRefused(mcpAs, () => redeem(idJag), {
      error: 'invalid_grant',
      description: 'assertion has already been used (jti replay)',
    });
  });

  it('expired', async () => {
    const idJag = await enterpriseSignedIdJag({ resource: todos.resource }, now() - 400, now() - 100);
    await expectTokenRefused(mcpAs, () => redeem(idJag), {
      error: 'invalid_grant',
      description: 'assertion has expired',
    });
  });

  it('without resource, or with two (profile mcp)', async () => {
    const none = await enterpriseSignedIdJag({}, now(), now() + 60);
    await expectTokenRefused(mcpAs, () => redeem(none), {
      error: 'invalid_grant',
      description: "assertion has no resource claim: the MCP profile requires the MCP server's identifier",
    });
    const two = await enterpriseSignedIdJag({ resource: [todos.resource, notes.resource] }, now(), now() + 60);
    await expectTokenRefused(mcpAs, () => redeem(two), {
      error: 'invalid_grant',
      description: 'assertion names more than one resource: the MCP profile allows exactly one MCP server',
    });
  });

  it('asked for another MCP server than its resource', async () =>
    expectTokenRefused(mcpAs, async () => redeem(await issuedIdJag(), { resource: notes.resource }), {
      error: 'invalid_target',
      description: `resource exceeds what the assertion grants: '${notes.resource}'`,
    }));
});

describe('the MCP server refuses', () => {
  const callTool = (server: TodoMcpServer, authorization: string) =>
    fetch(server.resource, {
      method: 'POST',
      headers: {
        authorization,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'list_todos', arguments: {} },
      }),
    });

  it('an access token for another MCP server (aud)', async () => {
    const token = (await redeem(await issuedIdJag())).body.access_token as string;
    expect((await callTool(todos, `Bearer ${token}`)).status).toBe(200);
    const res = await callTool(notes, `Bearer ${token}`);
    expect({ status: res.status, body: await res.json() }).toEqual({
      status: 401,
      body: { error: 'invalid_token', error_description: 'token is not addressed to this resource (aud)' },
    });
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer error="invalid_token", error_description="token is not addressed to this resource (aud)", resource_metadata="${notes.metadataUrl}"`,
    );
  });

  it('the ID-JAG itself as an access token (signed by the enterprise, not the MCP AS)', async () => {
    const res = await callTool(todos, `Bearer ${await issuedIdJag()}`);
    expect({ status: res.status, body: await res.json() }).toEqual({
      status: 401,
      body: { error: 'invalid_token', error_description: 'token is signed with a key the issuer does not publish' },
    });
  });
});

describe('configuration', () => {
  const root = resolve(import.meta.dirname, '../..');
  const side = (name: Side, port: string) =>
    loadStsConfig(
      {
        PORT: port,
        HOST: '127.0.0.1',
        ISSUER: `http://127.0.0.1:${port}`,
        TRUST_ANCHORS_DIR: resolve(root, 'examples/mcp-ema', name, 'trust-anchors'),
        CLIENTS_FILE: resolve(root, 'examples/mcp-ema', name, 'clients.yaml'),
      },
      'development',
    );

  it('the example loads and validates as committed', () => {
    const enterpriseSide = side('enterprise', '8181');
    expect(enterpriseSide.clients[0]!.id_jag).toMatchObject({
      profile: 'mcp',
      saml_sp: { entity_id: 'https://chat.acme.example/saml', acs_urls: ['https://chat.acme.example/saml/acs'] },
      targets: [
        {
          audience: 'http://127.0.0.1:8182',
          client_id: 'acme-chat-at-todos',
          resources: ['http://127.0.0.1:8183/mcp'],
          scopes: ['todos.read', 'todos.write'],
        },
      ],
    });
    expect(enterpriseSide.anchors[0]!.config.development_only).toBe(true);
    const mcpAsSide = side('mcp-as', '8182');
    expect(mcpAsSide.anchors[0]!.config).toMatchObject({
      issuer: 'http://127.0.0.1:8181',
      token_types: ['id-jag'],
      id_jag: { profile: 'mcp', jti: 'single_use', max_age: 300 },
    });
  });

  it('refuses an mcp client target without resources, and an unknown profile', async () => {
    const client = (id_jag: Record<string, unknown>) => ({
      client_id: 'c',
      token_endpoint_auth_method: 'client_secret_basic',
      client_secret: 'c-secret-0123456789',
      audiences: [],
      id_jag,
    });
    await expect(
      startTestApp({
        clients: [client({ profile: 'mcp', targets: [{ audience: 'https://as.example', client_id: 'c' }] })],
      }),
    ).rejects.toThrow(
      "clients[0].id_jag.targets[0].resources: required by profile mcp: the MCP servers' RFC 9728 resource identifiers",
    );
    await expect(
      startTestApp({
        clients: [client({ profile: 'mpc', targets: [{ audience: 'https://as.example', client_id: 'c' }] })],
      }),
    ).rejects.toThrow('clients[0].id_jag.profile: must be one of the following values: mcp');
    await expect(
      startTestApp({
        anchors: {
          a: { issuer: 'https://a.example', jwks: { keys: [] }, audiences: ['x'], id_jag: { profile: 'xaa' } },
        },
        clients: [],
      }),
    ).rejects.toThrow('id_jag.profile: must be one of the following values: mcp');
  });
});
