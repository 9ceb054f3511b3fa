import type { IncomingMessage } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { OAuthProtectedResourceMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import { checkResourceRequest, createActbridgeVerifier, type VerifiedAccessToken } from 'actbridge/verify';
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';

/**
 * An MCP server (official SDK, Streamable HTTP, stateless) whose tools need actbridge access tokens:
 * `aud` its resource identifier, and the scope each tool names. It publishes RFC 9728 Protected
 * Resource Metadata naming actbridge (the MCP authorization server), which is how an MCP client finds
 * where to redeem its ID-JAG.
 */

/** The scopes each tool needs; a tools/call without them is answered 403 insufficient_scope. */
export const TOOL_SCOPES: Readonly<Record<string, readonly string[]>> = {
  list_todos: ['todos.read'],
  add_todo: ['todos.write'],
};

export interface TodoMcpServerOptions {
  /** Where to listen. */
  readonly port: number;
  readonly host?: string;
  /** The origin clients use (e.g. http://127.0.0.1:8183); the MCP endpoint and resource identifier is `${publicOrigin}/mcp`. */
  readonly publicOrigin: string;
  /** The issuer of the authorization server (actbridge) whose access tokens this server accepts. */
  readonly authorizationServer: string;
  readonly name?: string;
}

export interface TodoMcpServer {
  /** The MCP endpoint, which is also its RFC 9728 resource identifier. */
  readonly resource: string;
  readonly metadataUrl: string;
  close(): Promise<void>;
}

export async function startTodoMcpServer(options: TodoMcpServerOptions): Promise<TodoMcpServer> {
  const resource = `${options.publicOrigin}/mcp`;
  // RFC 9728 §3.1: the metadata of a resource with a path lives under the well-known prefix + that path.
  const metadataUrl = `${options.publicOrigin}/.well-known/oauth-protected-resource/mcp`;
  const verifier = createActbridgeVerifier({
    issuer: options.authorizationServer,
    audience: resource,
    allowInsecureRequests: new URL(options.authorizationServer).protocol === 'http:',
  });
  const metadata: OAuthProtectedResourceMetadata = {
    resource,
    authorization_servers: [options.authorizationServer],
    scopes_supported: [...new Set(Object.values(TOOL_SCOPES).flat())],
    bearer_methods_supported: ['header'],
    resource_name: options.name ?? 'Todos (actbridge MCP EMA example)',
  };
  const todos = new Map<string, string[]>();

  const app: FastifyInstance = Fastify({ logger: false });
  app.get('/.well-known/oauth-protected-resource/mcp', async (_request, reply) => {
    await reply.header('cache-control', 'public, max-age=300').send(metadata);
  });
  // Stateless Streamable HTTP: no session, so no server-initiated stream (GET) and nothing to end (DELETE).
  app.route({
    method: ['GET', 'DELETE'],
    url: '/mcp',
    handler: async (_request, reply) => {
      await reply
        .code(405)
        .header('allow', 'POST')
        .send({
          jsonrpc: '2.0',
          error: { code: -32000, message: 'Method not allowed: this server is stateless' },
          id: null,
        });
    },
  });
  app.post('/mcp', async (request, reply) => {
    // The token must be for this server (aud) with every scope the called tools need; otherwise the
    // RFC 6750 challenge (401, or 403 insufficient_scope with the scope to ask for, as MCP's step-up
    // authorization expects), pointing at the metadata.
    const outcome = await checkResourceRequest(verifier, request, {
      audience: resource,
      scopes: scopesFor(request.body),
      resourceMetadata: metadataUrl,
      publicUrl: options.publicOrigin,
    });
    if (!outcome.ok) {
      await reply
        .code(outcome.status)
        .header('www-authenticate', outcome.challenge)
        .header('cache-control', 'no-store')
        .send(outcome.body ?? { error_description: 'access token required' });
      return;
    }
    const server = todoServer(todos, options.name);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    reply.hijack();
    reply.raw.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    const raw = request.raw as IncomingMessage & { auth?: AuthInfo };
    raw.auth = authInfo(outcome.token, resource);
    await transport.handleRequest(raw, reply.raw, request.body);
  });

  await app.listen({ port: options.port, host: options.host ?? '127.0.0.1' });
  return {
    resource,
    metadataUrl,
    close: () => app.close(),
  };
}

/** The MCP server and its tools, per request (stateless); the tool handlers see who the token is for. */
function todoServer(todos: Map<string, string[]>, name = 'todos'): McpServer {
  const server = new McpServer({ name, version: '1.0.0' });
  const userOf = (auth: AuthInfo | undefined) => (auth?.extra?.subject as string | undefined) ?? '';
  // `sub` is unique per issuer that vouched for it (RFC 9493 iss_sub), not alone.
  const keyOf = (auth: AuthInfo | undefined) => `${String(auth?.extra?.subjectIssuer)} ${userOf(auth)}`;
  server.registerTool('list_todos', { description: "Lists the user's todos (scope todos.read)" }, async (extra) => {
    const user = userOf(extra.authInfo);
    const list = todos.get(keyOf(extra.authInfo)) ?? [];
    return {
      content: [{ type: 'text', text: `${user}'s todos: ${list.length === 0 ? '(none)' : list.join('; ')}` }],
      structuredContent: { user, scopes: extra.authInfo?.scopes ?? [], todos: list },
    };
  });
  server.registerTool(
    'add_todo',
    { description: 'Adds a todo for the user (scope todos.write)', inputSchema: { text: z.string().min(1).max(200) } },
    async ({ text }, extra) => {
      const user = userOf(extra.authInfo);
      const list = [...(todos.get(keyOf(extra.authInfo)) ?? []), text];
      todos.set(keyOf(extra.authInfo), list);
      return {
        content: [{ type: 'text', text: `added for ${user}: ${text}` }],
        structuredContent: { user, scopes: extra.authInfo?.scopes ?? [], todos: list },
      };
    },
  );
  return server;
}

/** The scopes a JSON-RPC message (or batch) needs: those of each tool it calls. */
export function scopesFor(body: unknown): string[] {
  const messages = Array.isArray(body) ? body : [body];
  const scopes = new Set<string>();
  for (const message of messages) {
    if (typeof message !== 'object' || message === null) continue;
    const { method, params } = message as { method?: unknown; params?: { name?: unknown } };
    if (method !== 'tools/call' || typeof params?.name !== 'string') continue;
    for (const scope of Object.hasOwn(TOOL_SCOPES, params.name) ? TOOL_SCOPES[params.name]! : []) scopes.add(scope);
  }
  return [...scopes];
}

/** What the SDK hands the tool handlers (`extra.authInfo`), from the verified actbridge token. */
function authInfo(token: VerifiedAccessToken, resource: string): AuthInfo {
  return {
    // The tools act on the verified claims; the token itself is not handed on (MCP forbids passthrough).
    token: '',
    clientId: token.clientId,
    scopes: [...token.scopes],
    expiresAt: token.expiresAt,
    resource: new URL(resource),
    extra: { subject: token.subject, subjectIssuer: token.subjectIssuer },
  };
}
