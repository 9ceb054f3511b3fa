import { expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { postToken, TT } from '../support/test-app.js';
import { useInstancePair } from '../support/fixture.js';
import { clientAssertion } from '../support/clients.js';
import { createTestIssuer, type TestIssuer } from '../support/test-issuer.js';
import { describeWithRedis, REDIS_TEST_URL } from '../support/redis.js';

const describeRedis = await describeWithRedis();

/**
 * Two actbridge instances behind one issuer share single-use state through Redis: a client assertion
 * used at one instance is refused at the other (RFC 7523 §3 / OIDC Core §9 single use).
 */

describeRedis('several instances sharing Redis', () => {
  let idp: TestIssuer;
  let key: CryptoKey;
  const instances = useInstancePair(async () => {
    idp = await createTestIssuer('https://idp.example');
    const pair = await generateKeyPair('ES256', { extractable: true });
    key = pair.privateKey;
    return {
      anchors: { idp: { issuer: idp.issuer, jwks: idp.publicJwks, audiences: ['urn:sts'] } },
      clients: [
        {
          client_id: 'svc',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' }] },
          audiences: ['https://api.example'],
        },
      ],
      // A generous command bound (REDIS_TIMEOUT_MS): on a busy machine a slow answer is not an outage.
      env: { REDIS_URL: REDIS_TEST_URL, REDIS_TIMEOUT_MS: '10000' },
    };
  });

  it('refuses at instance B an assertion already used at instance A', async () => {
    const { a, b, issuer } = instances;
    const assertion = await clientAssertion(key, { kid: 'k1' }, 'svc', issuer);
    const form = {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: await idp.mint({ sub: 'alice', aud: 'urn:sts' }),
      subject_token_type: TT.accessToken,
      audience: 'https://api.example',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    };
    expect((await postToken(a, form)).status).toBe(200);
    const replay = await postToken(b, form);
    expect(replay.status).toBe(401);
    expect(replay.body).toEqual({
      error: 'invalid_client',
      error_description: 'client_assertion has already been used (jti replay)',
    });
  });
});
