import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { stringify } from 'yaml';
import { ConfigReloader } from '../../src/app/config-reloader.js';
import { GRANT_TOKEN_EXCHANGE, postToken, startTestApp, TT, type TestApp } from '../support/test-app.js';
import { clientAssertion } from '../support/clients.js';

/**
 * A private_key_jwt client's keys are the clients file's: a reload that replaces them (a key rotated
 * out, say because it leaked) is in force from the next request, as for every other client field.
 */
describe('private_key_jwt keys on reload', () => {
  let sts: TestApp;
  let oldKey: { privateKey: CryptoKey; jwk: JWK };
  let newKey: { privateKey: CryptoKey; jwk: JWK };

  const keyPair = async (kid: string) => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    return { privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid, use: 'sig' } };
  };
  const client = (jwk: JWK) => ({
    client_id: 'pk',
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [jwk] },
    grant_types: [GRANT_TOKEN_EXCHANGE],
    audiences: ['https://api.example'],
  });
  // Authentication passes, then the subject token is refused: the refusal says which step was reached.
  const exchange = async (key: { privateKey: CryptoKey; jwk: JWK }) =>
    postToken(sts, {
      grant_type: GRANT_TOKEN_EXCHANGE,
      subject_token: 'not-a-jwt',
      subject_token_type: TT.jwt,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await clientAssertion(key.privateKey, { kid: key.jwk.kid! }, 'pk', sts.issuer),
    });

  beforeAll(async () => {
    [oldKey, newKey] = [await keyPair('old'), await keyPair('new')];
    sts = await startTestApp({ clients: [client(oldKey.jwk)] });
  });
  afterAll(() => sts?.close());

  it('a key removed from the clients file no longer authenticates after the reload; its replacement does', async () => {
    expect((await exchange(oldKey)).body).toEqual({
      error: 'invalid_request',
      error_description: 'subject_token is not a signed JWT',
    });

    writeFileSync(join(sts.dir, 'clients.yaml'), stringify({ clients: [client(newKey.jwk)] }));
    expect(await sts.app.get(ConfigReloader).reload('manual')).toMatchObject({ outcome: 'success' });

    const old = await exchange(oldKey);
    expect({ status: old.status, body: old.body }).toEqual({
      status: 401,
      body: {
        error: 'invalid_client',
        error_description: 'client_assertion is signed with a key the client did not register',
      },
    });
    expect((await exchange(newKey)).body).toEqual({
      error: 'invalid_request',
      error_description: 'subject_token is not a signed JWT',
    });
  });
});
