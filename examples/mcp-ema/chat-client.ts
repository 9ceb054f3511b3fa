import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { EnterpriseManagedAuthProvider, type IdentityAssertion } from './ema-auth-provider.js';
import type { Origins } from './example-config.js';
import { tracingFetch, type TracedCall } from './http-trace.js';

/**
 * The MCP client of the example ("Acme Chat"): the official SDK's Client over Streamable HTTP, with
 * the Enterprise-Managed Authorization provider as its authProvider. Its registrations match
 * enterprise/clients.yaml and mcp-as/clients.yaml (DEMO secrets).
 */
export const ACME_CHAT = {
  atEnterprise: { clientId: 'acme-chat', clientSecret: 'acme-chat-secret-at-enterprise-change-me' },
  atTodos: { clientId: 'acme-chat-at-todos', clientSecret: 'acme-chat-secret-at-todos-change-me' },
} as const;

export interface ChatClientOptions {
  readonly origins: Origins;
  /** The MCP server to connect to (default: the example's, `${origins.mcpServer}/mcp`). */
  readonly serverUrl?: string;
  /** The signed-in user's identity assertion from the enterprise SSO. */
  readonly identityAssertion: () => IdentityAssertion | Promise<IdentityAssertion>;
  readonly scope?: string;
  /** Sees every HTTP exchange the client makes (MCP, metadata, both token endpoints). */
  readonly onCall?: (call: TracedCall) => void;
}

export interface ChatClient {
  readonly client: Client;
  readonly provider: EnterpriseManagedAuthProvider;
  close(): Promise<void>;
}

/** Connects (initialize): the first request is answered 401, and the provider runs the EMA flow. */
export async function connectChatClient(options: ChatClientOptions): Promise<ChatClient> {
  const serverUrl = options.serverUrl ?? `${options.origins.mcpServer}/mcp`;
  const traced = tracingFetch(options.onCall ?? (() => undefined));
  const provider = new EnterpriseManagedAuthProvider({
    serverUrl,
    idp: { issuer: options.origins.enterprise, ...ACME_CHAT.atEnterprise },
    authorizationServer: { issuer: options.origins.mcpAs, ...ACME_CHAT.atTodos },
    identityAssertion: options.identityAssertion,
    ...(options.scope ? { scope: options.scope } : {}),
    fetch: traced,
  });
  const client = new Client({ name: 'acme-chat', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider: provider, fetch: traced });
  await client.connect(transport);
  return { client, provider, close: () => client.close() };
}
