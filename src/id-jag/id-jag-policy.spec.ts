import { describe, expect, it } from '@jest/globals';
import type { IdJagClientConfig } from './id-jag-client.config.js';
import { decideIdJagTarget, type IdJagTargetRequest } from './id-jag-policy.js';
import { narrowScope } from '../oauth/scope.js';
import { expectOAuthError } from '../../test/support/errors.js';

const AS_B = 'https://as.b.example';
const policy = {
  targets: [
    {
      audience: AS_B,
      client_id: 'app-at-b',
      resources: ['https://r1.b.example/', 'https://r2.b.example/'],
      scopes: ['read', 'write'],
    },
    { audience: 'https://as.c.example', client_id: 'app-at-c', resources: [], scopes: [] },
  ],
} as IdJagClientConfig;

interface Row {
  name: string;
  request: Partial<IdJagTargetRequest> & { scope?: string[] };
  expect?: { client_id: string; resources: string[]; scope: string[] };
  expectError?: { code: string; description: string };
}

const rows: Row[] = [
  {
    name: 'audience only: no resource, every allowed scope',
    request: { audiences: [AS_B] },
    expect: { client_id: 'app-at-b', resources: [], scope: ['read', 'write'] },
  },
  {
    name: 'resource and scope within the policy',
    request: { audiences: [AS_B], resources: ['https://r2.b.example/'], scope: ['read'] },
    expect: { client_id: 'app-at-b', resources: ['https://r2.b.example/'], scope: ['read'] },
  },
  {
    name: 'duplicates collapse',
    request: {
      audiences: [AS_B, AS_B],
      resources: ['https://r1.b.example/', 'https://r1.b.example/'],
      scope: ['read', 'read'],
    },
    expect: { client_id: 'app-at-b', resources: ['https://r1.b.example/'], scope: ['read'] },
  },
  {
    name: 'a target with no scopes grants none',
    request: { audiences: ['https://as.c.example'] },
    expect: { client_id: 'app-at-c', resources: [], scope: [] },
  },
  {
    name: 'no audience',
    request: {},
    expectError: {
      code: 'invalid_request',
      description: "audience is required for an ID-JAG: the resource authorization server's issuer",
    },
  },
  {
    name: 'two audiences',
    request: { audiences: [AS_B, 'https://as.c.example'] },
    expectError: { code: 'invalid_target', description: 'an ID-JAG names exactly one audience' },
  },
  {
    name: 'unknown audience',
    request: { audiences: ['https://as.evil.example'] },
    expectError: {
      code: 'invalid_target',
      description: "audience not allowed for this client's ID-JAGs: 'https://as.evil.example'",
    },
  },
  {
    name: 'resource of another target',
    request: { audiences: ['https://as.c.example'], resources: ['https://r1.b.example/'] },
    expectError: {
      code: 'invalid_target',
      description: "resource not allowed for this client at https://as.c.example: 'https://r1.b.example/'",
    },
  },
  {
    name: 'too many resources',
    request: {
      audiences: [AS_B],
      resources: ['https://r1.b.example/', 'https://r2.b.example/', 'https://r3.b.example/'],
    },
    expectError: { code: 'invalid_target', description: 'too many resources requested (3; at most 2)' },
  },
  {
    name: 'scope beyond the policy',
    request: { audiences: [AS_B], scope: ['read', 'admin'] },
    expectError: { code: 'invalid_scope', description: `scope not allowed for this client at ${AS_B}: admin` },
  },
];

describe('decideIdJagTarget', () => {
  it.each(rows)('$name', ({ request, expect: expected, expectError }) => {
    const full = { audiences: [], resources: [], scope: undefined, ...request };
    // The target decision, then the scope within its limit, as the delegation core narrows it.
    const decide = () => {
      const decision = decideIdJagTarget(policy, full, 2);
      return { ...decision, scope: narrowScope(full.scope, [decision.scope]) };
    };
    if (expectError) {
      expectOAuthError(decide, expectError);
      return;
    }
    const decision = decide();
    expect({ client_id: decision.target.client_id, resources: decision.resources, scope: decision.scope }).toEqual(
      expected,
    );
  });
});
