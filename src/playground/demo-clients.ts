import type { ClientConfig } from '../clients/client.config.js';
import { ClientSecretVerifier } from '../clients/client-secret.js';

/**
 * The demo clients' secrets as published in this repository (config/clients.yaml, examples/xaa/):
 * public values, offered to the development page only where they still authenticate the configured
 * client. A secret an operator chose is never sent to a browser.
 */
const PUBLISHED_DEMO_SECRETS: Readonly<Record<string, string>> = {
  'demo-agent': 'demo-agent-secret-change-me',
  'demo-tool': 'demo-tool-secret-change-me',
  'chat-agent': 'chat-agent-secret-at-a-change-me',
  'chat-agent-at-b': 'chat-agent-secret-at-b-change-me',
};

export interface DemoClient {
  readonly client_id: string;
  readonly name?: string;
  readonly auth_method: ClientConfig['token_endpoint_auth_method'];
  readonly grant_types: readonly string[];
  readonly audiences: readonly string[];
  readonly default_audience?: string;
  readonly scopes: readonly string[];
  readonly id_jag_targets?: ReadonlyArray<{
    readonly audience: string;
    readonly client_id: string;
    readonly resources: readonly string[];
    readonly scopes: readonly string[];
  }>;
  /** The published demo secret, when it authenticates this client. */
  readonly demo_secret?: string;
}

/** The configured clients as the development page lists them: their policy, never a configured secret. */
export async function describeDemoClients(clients: readonly ClientConfig[]): Promise<DemoClient[]> {
  const verifier = new ClientSecretVerifier();
  return Promise.all(
    clients.map(async (client) => {
      const published = PUBLISHED_DEMO_SECRETS[client.client_id];
      const works =
        published !== undefined &&
        client.token_endpoint_auth_method !== 'private_key_jwt' &&
        (await verifier.verify(client.client_id, published, {
          plaintext: client.client_secret,
          hash: client.client_secret_hash,
        }));
      return {
        client_id: client.client_id,
        ...(client.name === undefined ? {} : { name: client.name }),
        auth_method: client.token_endpoint_auth_method,
        grant_types: client.grant_types,
        audiences: client.audiences,
        ...(client.default_audience === undefined ? {} : { default_audience: client.default_audience }),
        scopes: client.scopes,
        ...(client.id_jag
          ? {
              id_jag_targets: client.id_jag.targets.map((t) => ({
                audience: t.audience,
                client_id: t.client_id,
                resources: t.resources ?? [],
                scopes: t.scopes ?? [],
              })),
            }
          : {}),
        ...(works ? { demo_secret: published } : {}),
      };
    }),
  );
}
