import { describe, expect, it } from '@jest/globals';
import type { IdJagClientConfig } from './id-jag-client.config.js';
import { checkSamlSubjectClient, decideIdJagTarget, type IdJagTargetRequest } from './id-jag-policy.js';
import { TokenTypes } from '../oauth/token-types.js';
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

describe('checkSamlSubjectClient (§4.3.3, §4.5: the identity assertion is issued to the client)', () => {
  const withSp = {
    ...policy,
    saml_sp: { entity_id: 'https://app.example/saml', acs_urls: ['https://app.example/acs'] },
  } as IdJagClientConfig;
  it.each([
    ['an ID token, whatever the client', TokenTypes.idToken, policy],
    ['a SAML subject for a client with a SAML SP', TokenTypes.saml2, withSp],
  ])('%s', (_name, type, clientPolicy) => {
    expect(() => checkSamlSubjectClient(type, clientPolicy, 'app')).not.toThrow();
  });

  it.each([
    ['without a profile', policy],
    ['under the MCP profile', { ...policy, profile: 'mcp' } as IdJagClientConfig],
  ])('a SAML subject for a client without a SAML SP (%s)', (_name, clientPolicy) => {
    expectOAuthError(() => checkSamlSubjectClient(TokenTypes.saml2, clientPolicy, 'app'), {
      code: 'invalid_grant',
      description:
        'subject_token audience is not accepted: client app has no SAML service provider registered, so no SAML assertion is issued to it',
    });
  });
});
