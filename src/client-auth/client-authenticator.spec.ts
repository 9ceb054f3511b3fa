import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { newAuditRecord } from '../audit/audit-record.js';
import type { ClientConfig } from '../clients/client.config.js';
import type { ClientRegistry } from '../clients/client-registry.js';
import { ClientSecretVerifier, hashClientSecret, parseSecretHash } from '../clients/client-secret.js';
import { OAuthError } from '../oauth/oauth-error.js';
import { TokenRequestParams } from '../oauth/request-params.js';
import { ClientAuthenticator } from './client-authenticator.js';
import type { PrivateKeyJwtVerifier } from './private-key-jwt.js';

const SECRET = 'agent-secret-0123456789';
const FAST = { ln: 10, r: 8, p: 1 } as const;

function authenticatorWith(clients: ClientConfig[]): ClientAuthenticator {
  const registry = { find: (id: string) => clients.find((c) => c.client_id === id) } as unknown as ClientRegistry;
  return new ClientAuthenticator(registry, {} as PrivateKeyJwtVerifier);
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

/** The OAuth error `authenticate` ends with. */
async function refusal(auth: ClientAuthenticator, params: Record<string, string[]>, authorization?: string) {
  const error = await auth.authenticate(TokenRequestParams.from(params), authorization, newAuditRecord()).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OAuthError);
  const { error: code, description, status, detail } = error as OAuthError;
  return { code, description, status, detail };
}

afterEach(() => {
  jest.restoreAllMocks();
});

describe('ClientAuthenticator: a refusal takes as long whether or not the client exists', () => {
  const client = async (fields: Partial<ClientConfig>) =>
    ({
      client_id: 'agent',
      token_endpoint_auth_method: 'client_secret_basic',
      client_secret_hash: await hashClientSecret(SECRET, FAST),
      audiences: [],
      grant_types: [],
      ...fields,
    }) as unknown as ClientConfig;

  it.each<[name: string, fields: Partial<ClientConfig>, id: string, form: Record<string, string[]>, detail: string]>([
    ['an unknown client (Basic)', {}, 'nobody', {}, 'unknown client'],
    ['an unknown client (client_secret_post)', {}, 'nobody', { client_secret: [SECRET] }, 'unknown client'],
    [
      'a client registered for another method',
      { token_endpoint_auth_method: 'client_secret_post' },
      'agent',
      {},
      'client is registered for client_secret_post, used client_secret_basic',
    ],
  ])('checks the secret of %s as a wrong one before refusing it', async (_name, fields, id, form, detail) => {
    const auth = authenticatorWith([await client(fields)]);
    const verify = jest.spyOn(ClientSecretVerifier.prototype, 'verify');
    const post = form.client_secret !== undefined;
    const params = post ? { ...form, client_id: [id] } : form;
    expect(await refusal(auth, params, post ? undefined : basic(id, SECRET))).toEqual({
      code: 'invalid_client',
      description: 'client authentication failed',
      status: 401,
      detail,
    });
    // One scrypt run, as for a wrong secret of a registered client, against a hash no secret matches.
    expect(verify).toHaveBeenCalledTimes(1);
    const [checkedId, presented, stored] = verify.mock.calls[0]!;
    expect([checkedId, presented]).toEqual([id, SECRET]);
    expect(stored.plaintext).toBeUndefined();
    expect(parseSecretHash(stored.hash!)?.params).toEqual({ ln: 15, r: 8, p: 1 });
    await expect(verify.mock.results[0]!.value).resolves.toBe(false);
  });

  it('refuses a wrong secret of a registered client with the same answer', async () => {
    const auth = authenticatorWith([await client({})]);
    expect(await refusal(auth, {}, basic('agent', 'wrong-secret-0123456789'))).toEqual({
      code: 'invalid_client',
      description: 'client authentication failed',
      status: 401,
      detail: 'wrong client secret',
    });
  });
});
