import { InvalidRequest, InvalidTarget } from '../oauth/oauth-error.js';
import type { IdJagClientConfig } from './id-jag-client.config.js';

/**
 * MCP Enterprise-Managed Authorization (extension io.modelcontextprotocol/enterprise-managed-authorization):
 * a profile of ID-JAG in which the resource is always one MCP server. Clients (IdP role) and trust
 * anchors (authorization-server role) opt in with `id_jag.profile: mcp`; docs/mcp-ema.md maps each
 * clause to configuration.
 */
export const ID_JAG_PROFILES = ['mcp'] as const;
export type IdJagProfile = (typeof ID_JAG_PROFILES)[number];

/**
 * IdP role: EMA §4 makes `resource` REQUIRED, the RFC 9728 identifier of one MCP server, which the ID-JAG
 * carries (§4.3). `audience` is required for every ID-JAG (decideIdJagTarget); both are checked against
 * the targets there. (§4.1's subject token issued to the client is every ID-JAG's rule: id-jag-policy.ts.)
 */
export function checkMcpIdJagRequest(request: { readonly resource: readonly string[] }): void {
  const resources = new Set(request.resource);
  if (resources.size === 0) {
    throw new InvalidRequest(
      "resource is required for an ID-JAG under the MCP profile: the MCP server's RFC 9728 resource identifier",
    );
  }
  if (resources.size > 1) {
    throw new InvalidTarget('an ID-JAG under the MCP profile names exactly one resource: the MCP server');
  }
}

/**
 * Authorization-server role: EMA §4.3 makes the ID-JAG's `resource` REQUIRED, one MCP server, which then
 * is the access token's audience. Returns the refusal, or undefined.
 */
export function mcpResourceProblem(resources: readonly string[] | undefined): string | undefined {
  if (resources === undefined) return "has no resource claim: the MCP profile requires the MCP server's identifier";
  if (resources.length !== 1) return 'names more than one resource: the MCP profile allows exactly one MCP server';
  return undefined;
}

/** Startup: an MCP target without resources could never be used (every request must name one). */
export function mcpProfileConfigProblems(policy: IdJagClientConfig, at: string): Array<[string, string]> {
  if (policy.profile !== 'mcp') return [];
  return policy.targets.flatMap((target, i): Array<[string, string]> =>
    target.resources.length > 0
      ? []
      : [[`${at}.targets[${i}].resources`, "required by profile mcp: the MCP servers' RFC 9728 resource identifiers"]],
  );
}
