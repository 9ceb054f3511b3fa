import { describe, expect, it } from '@jest/globals';
import type { IdJagClientConfig } from './id-jag-client.config.js';
import { checkMcpIdJagRequest, mcpProfileConfigProblems, mcpResourceProblem } from './mcp-profile.js';
import { expectOAuthError } from '../../test/support/errors.js';

const MCP = 'https://mcp.example/mcp';
const policy = (extra: Partial<IdJagClientConfig> = {}) =>
  ({
    profile: 'mcp',
    targets: [{ audience: 'https://as.example', client_id: 'app', resources: [MCP], scopes: ['read'] }],
    ...extra,
  }) as IdJagClientConfig;

describe('checkMcpIdJagRequest (EMA §4, IdP role)', () => {
  const rows: Array<{
    name: string;
    resource: string[];
    expectError?: { code: string; description: string };
  }> = [
    { name: 'one resource', resource: [MCP] },
    { name: 'the same resource twice', resource: [MCP, MCP] },
    {
      name: 'no resource',
      resource: [],
      expectError: {
        code: 'invalid_request',
        description:
          "resource is required for an ID-JAG under the MCP profile: the MCP server's RFC 9728 resource identifier",
      },
    },
    {
      name: 'two resources',
      resource: [MCP, 'https://other.example/mcp'],
      expectError: {
        code: 'invalid_target',
        description: 'an ID-JAG under the MCP profile names exactly one resource: the MCP server',
      },
    },
  ];

  it.each(rows)('$name', (row) => {
    const check = () => checkMcpIdJagRequest({ resource: row.resource });
    if (!row.expectError) {
      expect(check).not.toThrow();
      return;
    }
    expectOAuthError(check, row.expectError);
  });
});

describe('mcpResourceProblem (EMA §4.3, authorization-server role)', () => {
  it.each<[string, string[] | undefined, string | undefined]>([
    ['one resource', [MCP], undefined],
    ['no resource claim', undefined, "has no resource claim: the MCP profile requires the MCP server's identifier"],
    [
      'two resources',
      [MCP, 'https://other.example/mcp'],
      'names more than one resource: the MCP profile allows exactly one MCP server',
    ],
  ])('%s', (_name, resources, problem) => {
    expect(mcpResourceProblem(resources)).toBe(problem);
  });
});

describe('mcpProfileConfigProblems', () => {
  it('requires resources on every target of an mcp client, and nothing of other clients', () => {
    const bare = { audience: 'https://as2.example', client_id: 'app', resources: [], scopes: [] };
    const targets = [...policy().targets, bare];
    expect(mcpProfileConfigProblems(policy({ targets }), 'clients[0].id_jag')).toEqual([
      [
        'clients[0].id_jag.targets[1].resources',
        "required by profile mcp: the MCP servers' RFC 9728 resource identifiers",
      ],
    ]);
    expect(mcpProfileConfigProblems(policy({ profile: undefined, targets }), 'clients[0].id_jag')).toEqual([]);
  });
});
