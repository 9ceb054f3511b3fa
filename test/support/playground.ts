import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { DemoIdp } from '../../src/demo-idp/demo-idp.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** The published demo secrets (config/clients.yaml, examples/xaa/), which the development page offers. */
export const DEMO_SECRETS = {
  agent: 'demo-agent-secret-change-me',
  tool: 'demo-tool-secret-change-me',
  chat: 'chat-agent-secret-at-a-change-me',
  chatAtB: 'chat-agent-secret-at-b-change-me',
} as const;

export const TODOS = 'https://todos.domain-b.example/';

/** The shipped demo IdP anchor (trust-anchors/demo-idp.yaml) with its JWKS inline, plus `extra` fields. */
export function demoIdpAnchor(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const anchor = parse(readFileSync(resolve(ROOT, 'trust-anchors/demo-idp.yaml'), 'utf8')) as Record<string, unknown>;
  const { jwks_file: _file, ...rest } = anchor;
  const jwks = JSON.parse(readFileSync(resolve(ROOT, 'trust-anchors/demo-idp.jwks.json'), 'utf8')) as unknown;
  return { ...rest, jwks, ...extra };
}

/**
 * The shipped demo clients (config/clients.yaml: demo-agent, demo-tool, chat-agent), with plaintext
 * secrets (development) and chat-agent's ID-JAG target at `domainB`.
 */
export function demoClients(domainB: string): Array<Record<string, unknown>> {
  const { clients } = parse(readFileSync(resolve(ROOT, 'config/clients.yaml'), 'utf8')) as {
    clients: Array<Record<string, unknown>>;
  };
  const secrets: Record<string, string> = {
    'demo-agent': DEMO_SECRETS.agent,
    'demo-tool': DEMO_SECRETS.tool,
    'chat-agent': DEMO_SECRETS.chat,
  };
  return clients.map(({ client_secret_hash: _hash, client_secret: _secret, ...client }) => ({
    ...client,
    client_secret: secrets[client.client_id as string],
    ...(client.id_jag
      ? {
          id_jag: {
            targets: [{ audience: domainB, client_id: 'chat-agent-at-b', resources: [TODOS], scopes: ['todos.read'] }],
          },
        }
      : {}),
  }));
}

/** Domain B's client (examples/xaa/domain-b/clients.yaml). */
export function domainBClients(): Array<Record<string, unknown>> {
  const { clients } = parse(readFileSync(resolve(ROOT, 'examples/xaa/domain-b/clients.yaml'), 'utf8')) as {
    clients: Array<Record<string, unknown>>;
  };
  return clients;
}

export function demoIdp(): Promise<DemoIdp> {
  return DemoIdp.load();
}
