import { describe, expect, it } from '@jest/globals';
import type { ClientConfig } from '../clients/client.config.js';
import { InvalidTarget } from '../oauth/oauth-error.js';
import { resolveTargets, targetsWithin } from './targets.js';
import { exchangeClient } from '../../test/support/client-config.js';
import { expectOAuthError } from '../../test/support/errors.js';

const API = 'https://api.example.com';
const FILES = 'https://files.example.com/v1';

function client(extra: Partial<ClientConfig> = {}): ClientConfig {
  return exchangeClient({ client_id: 'c1', audiences: [API, FILES, 'billing', 'ledger'], scopes: [], ...extra });
}

interface Row {
  name: string;
  input: { audiences: string[]; resources: string[]; client?: ClientConfig; maxTargets?: number };
  expect?: string[];
  expectError?: { code: string; description: string };
}

const rows: Row[] = [
  { name: 'one audience', input: { audiences: ['billing'], resources: [] }, expect: ['billing'] },
  { name: 'one resource', input: { audiences: [], resources: [API] }, expect: [API] },
  {
    name: 'union of audience and resource, audiences first',
    input: { audiences: ['billing', 'ledger'], resources: [API, FILES] },
    expect: ['billing', 'ledger', API, FILES],
  },
  {
    name: 'duplicates within and across audience and resource are removed',
    input: { audiences: [API, 'billing', API], resources: [API, 'billing'] },
    expect: [API, 'billing'],
  },
  {
    name: 'dedupe happens before the maxTargets count',
    input: { audiences: [API, API, API], resources: [API, API], maxTargets: 1 },
    expect: [API],
  },
  {
    name: 'exactly maxTargets is allowed',
    input: { audiences: ['billing', 'ledger'], resources: [API], maxTargets: 3 },
    expect: ['billing', 'ledger', API],
  },
  {
    name: 'none requested: the default_audience',
    input: { audiences: [], resources: [], client: client({ default_audience: 'ledger' }) },
    expect: ['ledger'],
  },
  {
    name: 'default_audience is not used when a target is named',
    input: { audiences: ['billing'], resources: [], client: client({ default_audience: 'ledger' }) },
    expect: ['billing'],
  },
  {
    name: 'none requested and no default_audience',
    input: { audiences: [], resources: [] },
    expectError: {
      code: 'invalid_target',
      description: 'no audience or resource requested, and this client has no default audience',
    },
  },
  {
    name: 'more than maxTargets',
    input: { audiences: ['billing', 'ledger'], resources: [API, FILES], maxTargets: 3 },
    expectError: { code: 'invalid_target', description: 'too many targets requested (4; at most 3)' },
  },
  {
    name: 'more than maxTargets is refused even before the allowlist',
    input: { audiences: ['a', 'b'], resources: [], maxTargets: 1 },
    expectError: { code: 'invalid_target', description: 'too many targets requested (2; at most 1)' },
  },
  {
    name: 'audience not on the allowlist, named in the description',
    input: { audiences: ['billing', 'payroll'], resources: [] },
    expectError: { code: 'invalid_target', description: "target not allowed for this client: 'payroll'" },
  },
  {
    name: 'resource not on the allowlist',
    input: { audiences: [], resources: ['https://evil.example'] },
    expectError: { code: 'invalid_target', description: "target not allowed for this client: 'https://evil.example'" },
  },
  {
    name: 'every refused target is named',
    input: { audiences: ['x'], resources: [API, 'https://y.example'] },
    expectError: {
      code: 'invalid_target',
      description: "target not allowed for this client: 'x', 'https://y.example'",
    },
  },
  {
    name: 'exact match only: trailing slash differs',
    input: { audiences: [], resources: [`${API}/`] },
    expectError: { code: 'invalid_target', description: `target not allowed for this client: '${API}/'` },
  },
  {
    name: 'exact match only: case differs',
    input: { audiences: ['Billing'], resources: [] },
    expectError: { code: 'invalid_target', description: "target not allowed for this client: 'Billing'" },
  },
  {
    name: "refused values are quoted, in error_description's characters (RFC 6749 §5.2)",
    input: { audiences: ['a"b\\c\nd\u0001é'], resources: [] },
    expectError: { code: 'invalid_target', description: "target not allowed for this client: 'a'b?c?d??'" },
  },
  {
    name: 'a long refused value is cut to 200 characters in the description',
    input: { audiences: ['z'.repeat(500)], resources: [] },
    expectError: { code: 'invalid_target', description: `target not allowed for this client: '${'z'.repeat(200)}'` },
  },
];

describe('resolveTargets', () => {
  it.each(rows)('$name', ({ input, expect: expected, expectError }) => {
    const call = () =>
      resolveTargets(input.audiences, input.resources, input.client ?? client(), input.maxTargets ?? 5);
    if (expectError) {
      expectOAuthError(call, expectError, InvalidTarget);
    } else {
      expect(call()).toEqual(expected);
    }
  });
});

describe("targetsWithin (ID-JAG §4.4.2: the assertion's resources are a ceiling)", () => {
  const rows: Array<{
    name: string;
    requested: string[];
    within: string[];
    expect?: string[];
    expectError?: { code: string; description: string };
  }> = [
    { name: "none requested: the assertion's resources", requested: [], within: [API, FILES], expect: [API, FILES] },
    { name: 'a requested subset', requested: [FILES], within: [API, FILES, 'https://other.example'], expect: [FILES] },
    {
      name: 'a request beyond the assertion: invalid_target',
      requested: ['billing'],
      within: [API],
      expectError: { code: 'invalid_target', description: "resource exceeds what the assertion grants: 'billing'" },
    },
    {
      name: 'a requested resource the client may not get: invalid_target',
      requested: ['https://other.example'],
      within: [API, 'https://other.example'],
      expectError: {
        code: 'invalid_target',
        description: "target not allowed for this client: 'https://other.example'",
      },
    },
    {
      name: 'none requested, the assertion names one the client may not get: invalid_grant (RFC 7523 §3.1)',
      requested: [],
      within: [API, 'https://other.example'],
      expectError: {
        code: 'invalid_grant',
        description: "assertion names a resource this client is not issued tokens for: 'https://other.example'",
      },
    },
    {
      name: 'none requested, the assertion names more than one token may have: invalid_grant',
      requested: [],
      within: [API, FILES, 'billing'],
      expectError: {
        code: 'invalid_grant',
        description: 'assertion names more resources than a token may have (3; at most 2); ask for some with resource',
      },
    },
  ];
  it.each(rows)('$name', ({ requested, within, expect: expected, expectError }) => {
    const call = () => targetsWithin(requested, within, client(), 2);
    if (expectError) {
      expectOAuthError(call, expectError);
    } else {
      expect(call()).toEqual(expected);
    }
  });
});
