import type { ClientConfig } from '../../src/clients/client.config.js';

/**
 * A parsed token-exchange client for unit specs: client_secret_basic with a 32-character secret, no
 * impersonation; `fields` gives its id, audiences and scopes and overrides the rest.
 */
export function exchangeClient(fields: Partial<ClientConfig>): ClientConfig {
  return {
    token_endpoint_auth_method: 'client_secret_basic',
    client_secret: 'x'.repeat(32),
    grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange'],
    impersonation: false,
    ...fields,
  } as ClientConfig;
}
