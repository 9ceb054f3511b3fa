import { describe, expect, it } from '@jest/globals';
import { generateKeyPair, type CryptoKey } from 'jose';
import { startHttpStub } from '../support/http-stub.js';
import { useFixture, useTestApp } from '../support/fixture.js';
import { base64url, createSamlTestIdp, type SamlTestIdp } from '../support/saml-idp.js';
import { createTestIssuer, type TestIssuer } from '../support/test-issuer.js';
import { GRANT_TOKEN_EXCHANGE, postToken, TT } from '../support/test-app.js';
import { expectTokenRefused } from '../support/errors.js';
import { basicClient, clientAssertion } from '../support/clients.js';

/**
 * Every remote fetch failing (discovery, JWKS, SAML metadata, a client's jwks_uri): the caller is told
 * what failed in its terms; the upstream URL, host and error are the operator's, in the audit line.
 */

const SECRET = 'agent-secret-0123456789';
const API = 'https://api.example/';
const SP_ENTITY_ID = 'https://actbridge.example/saml';

let viaJwksUri: TestIssuer;
let viaDiscovery: TestIssuer;
let hugeDiscovery: TestIssuer;
let samlIdp: SamlTestIdp;
let clientKey: CryptoKey;
let hangs = 0;

// An internal service that fails every request, but for one issuer whose discovery document is endless.
const upstream = useFixture(() =>
  startHttpStub((req, res) => {
    req.resume();
    // An introspection endpoint that never answers (closed with the stub).
    if (req.url === '/hang/introspect') return void hangs++;
    if (req.url === '/huge/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`{"issuer":"${hugeDiscovery.issuer}","jwks_uri":"${hugeDiscovery.issuer}/jwks","pad":"`);
      const chunk = 'x'.repeat(64 * 1024);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      return pump();
    }
    res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error at db-7.corp.internal');
  }),
);
const sts = useTestApp(async (issuer) => {
  viaJwksUri = await createTestIssuer('https://keys-idp.example');
  viaDiscovery = await createTestIssuer(`${upstream().url}/realm`);
  hugeDiscovery = await createTestIssuer(`${upstream().url}/huge`);
  samlIdp = await createSamlTestIdp({
    entityId: 'https://saml-idp.example/saml',
    spEntityId: SP_ENTITY_ID,
    tokenEndpoint: `${issuer}/oauth/token`,
  });
  const keys = await generateKeyPair('ES256', { extractable: true });
  clientKey = keys.privateKey;
  return {
    anchors: {
      keys: { issuer: viaJwksUri.issuer, jwks_uri: `${upstream().url}/jwks`, audiences: [issuer] },
      discovered: { issuer: viaDiscovery.issuer, audiences: [issuer] },
      huge: { issuer: hugeDiscovery.issuer, audiences: [issuer] },
      saml: { kind: 'saml', issuer: samlIdp.entityId, saml: { metadata_url: `${upstream().url}/saml/metadata` } },
      opaque: {
        issuer: 'https://opaque-idp.example',
        jwks: viaJwksUri.publicJwks,
        audiences: [issuer],
        introspection: {
          endpoint: `${upstream().url}/introspect`,
          client_id: 'actbridge',
          client_secret_env: 'OPAQUE_INTROSPECTION_SECRET',
          clients: ['agent'],
        },
      },
      hung: {
        issuer: 'https://hung-idp.example',
        jwks: viaJwksUri.publicJwks,
        audiences: [issuer],
        introspection: {
          endpoint: `${upstream().url}/hang/introspect`,
          client_id: 'actbridge',
          client_secret_env: 'OPAQUE_INTROSPECTION_SECRET',
          clients: ['hung-agent'],
        },
      },
    },
    clients: [
      basicClient('agent', SECRET, { audiences: [API], default_audience: API }),
      basicClient('hung-agent', SECRET, { audiences: [API], default_audience: API }),
      {
        client_id: 'remote-keys',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks_uri: `${upstream().url}/client-jwks`,
        audiences: [API],
        default_audience: API,
      },
    ],
    env: {
      SAML_SP_ENTITY_ID: SP_ENTITY_ID,
      JWKS_COOLDOWN: '0',
      UPSTREAM_TIMEOUT_MS: '1000',
      OPAQUE_INTROSPECTION_SECRET: 'actbridge-at-opaque-idp-0123456789',
    },
  };
});

/** The exact refusal, and the one audit line holding what the caller was not told. */
async function expectRefusal(
  send: () => ReturnType<typeof postToken>,
  status: number,
  body: { error: string; error_description: string },
  reason: RegExp,
) {
  const res = await expectTokenRefused(sts(), send, { status, error: body.error, description: body.error_description });
  expect(res.body.error_description).not.toMatch(/127\.0\.0\.1|corp\.internal|HTTP \d{3}|http:/);
  expect(sts().audit.lines.at(-1)!.reason).toMatch(reason);
  return res;
}

const exchange =
  (subjectToken: string, type: string = TT.jwt) =>
  () =>
    postToken(
      sts(),
      { grant_type: GRANT_TOKEN_EXCHANGE, subject_token: subjectToken, subject_token_type: type },
      { basic: ['agent', SECRET] },
    );

describe('upstream failures stay with the operator', () => {
  // Issuers and upstream URLs exist once beforeAll has run, hence the functions.
  it.each([
    ['JWKS endpoint failing', () => viaJwksUri, () => `HTTP 500 from ${upstream().url}/jwks`],
    [
      'discovery failing',
      () => viaDiscovery,
      () => `discovery at ${upstream().url}/realm/\\.well-known/openid-configuration failed: .*\\(HTTP 500\\)`,
    ],
    [
      'discovery document without end (cut off at its size cap, not buffered until the timeout)',
      () => hugeDiscovery,
      () =>
        `discovery at ${upstream().url}/huge/\\.well-known/openid-configuration failed: discovery document larger than 262144 bytes`,
    ],
  ])('%s', async (_name, issuer, reason) => {
    const token = await issuer().mint({ sub: 'alice', aud: sts().issuer }, { typ: 'JWT' });
    // The token may be fine: the caller is told to retry (503), not that its token is bad (400).
    await expectRefusal(
      exchange(token),
      503,
      {
        error: 'temporarily_unavailable',
        error_description: 'subject_token cannot be verified: issuer keys unavailable',
      },
      new RegExp(`^subject_token cannot be verified: issuer keys unavailable: ${reason()}$`),
    );
  });

  it('SAML metadata URL failing', async () => {
    await expectRefusal(
      exchange(base64url(samlIdp.signedAssertion({ recipient: sts().tokenEndpoint })), TT.saml2),
      503,
      {
        error: 'temporarily_unavailable',
        error_description: 'subject_token cannot be verified: IdP metadata unavailable',
      },
      new RegExp(
        `^subject_token cannot be verified: IdP metadata unavailable: HTTP 500 from ${upstream().url}/saml/metadata$`,
      ),
    );
  });

  it('introspection endpoint failing (the description names the token issuer, never the endpoint)', async () => {
    await expectRefusal(
      exchange('an-opaque-access-token', TT.accessToken),
      503,
      {
        error: 'temporarily_unavailable',
        error_description:
          'subject_token cannot be validated now: the introspection endpoint of issuer https://opaque-idp.example is unavailable',
      },
      /^HTTP 500 from the introspection endpoint$/,
    );
  });

  it('a hung introspection endpoint: after 3 timeouts in a row, opaque tokens are refused at once (503, Retry-After) for a pause', async () => {
    const hungExchange = (token: string) => () =>
      postToken(
        sts(),
        { grant_type: GRANT_TOKEN_EXCHANGE, subject_token: token, subject_token_type: TT.accessToken },
        { basic: ['hung-agent', SECRET] },
      );
    const timedOut = await Promise.all(['hung-1', 'hung-2', 'hung-3'].map((token) => hungExchange(token)()));
    for (const res of timedOut) {
      expect({ status: res.status, body: res.body }).toEqual({
        status: 503,
        body: {
          error: 'temporarily_unavailable',
          error_description:
            'subject_token cannot be validated now: the introspection endpoint of issuer https://hung-idp.example is unavailable',
        },
      });
    }
    expect(
      sts()
        .audit.lines.slice(-3)
        .map((line) => line.reason),
    ).toEqual(Array(3).fill('timed out after 1000 ms'));
    expect(hangs).toBe(3);

    // The endpoint is not called; the token is not accepted either: the caller is told to retry.
    const res = await expectRefusal(
      hungExchange('hung-4'),
      503,
      {
        error: 'temporarily_unavailable',
        error_description:
          'subject_token cannot be validated now: the introspection endpoint of issuer https://hung-idp.example is not answering in time; retry later',
      },
      /^not called: the endpoint timed out 3 times in a row; next try in [45] s$/,
    );
    expect(res.headers.get('retry-after')).toMatch(/^[45]$/);
    expect(hangs).toBe(3);
  });

  it("a client's jwks_uri failing", async () => {
    const assertion = await clientAssertion(clientKey, { kid: 'k1' }, 'remote-keys', sts().issuer, { iat: undefined });
    await expectRefusal(
      () =>
        postToken(sts(), {
          grant_type: GRANT_TOKEN_EXCHANGE,
          subject_token: 'x',
          subject_token_type: TT.jwt,
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion,
        }),
      // The assertion may be fine: the client is told to retry (503), not that its credentials are wrong.
      503,
      {
        error: 'temporarily_unavailable',
        error_description: 'client_assertion cannot be verified: client keys unavailable',
      },
      new RegExp(
        `^client_assertion cannot be verified: client keys unavailable: issuer keys unavailable: HTTP 500 from ${upstream().url}/client-jwks$`,
      ),
    );
  });
});
