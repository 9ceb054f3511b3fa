import { describe, expect, it } from '@jest/globals';
import { InvalidScope } from '../oauth/oauth-error.js';
import type { ClientConfig } from '../clients/client.config.js';
import { narrowScope as narrow } from '../oauth/scope.js';
import { clientLimit, subjectLimit } from './scope-limits.js';
import { expectOAuthError } from '../../test/support/errors.js';

/** A token exchange's limits without a policy rule: the client's scopes, then the subject token's. */
function narrowScope(requested: string[] | undefined, subject: string[] | undefined, client: string[]): string[] {
  return narrow(requested, [
    clientLimit({ scopes: client } as ClientConfig),
    ...(subject === undefined ? [] : [subjectLimit(subject)]),
  ]);
}

interface Row {
  name: string;
  input: { requested: string[] | undefined; subject: string[] | undefined; client: string[] };
  expect?: string[];
  expectError?: { code: string; description: string };
}

const rows: Row[] = [
  // No request: the ceiling.
  {
    name: 'default is client ∩ subject, in client order',
    input: { requested: undefined, subject: ['write', 'read', 'other'], client: ['read', 'write', 'admin'] },
    expect: ['read', 'write'],
  },
  {
    name: 'default with disjoint client and subject scopes is empty',
    input: { requested: undefined, subject: ['x'], client: ['read'] },
    expect: [],
  },
  {
    name: 'subject undefined (identity assertion): the client scopes',
    input: { requested: undefined, subject: undefined, client: ['read', 'write'] },
    expect: ['read', 'write'],
  },
  {
    name: 'subject [] (a token carrying no scope): nothing',
    input: { requested: undefined, subject: [], client: ['read', 'write'] },
    expect: [],
  },
  {
    name: 'client with no scopes: nothing',
    input: { requested: undefined, subject: ['read'], client: [] },
    expect: [],
  },
  // Requested.
  {
    name: 'requested subset of the ceiling',
    input: { requested: ['read'], subject: ['read', 'write'], client: ['read', 'write'] },
    expect: ['read'],
  },
  {
    name: 'requested subset is deduplicated, request order kept',
    input: { requested: ['write', 'read', 'write', 'read'], subject: ['read', 'write'], client: ['read', 'write'] },
    expect: ['write', 'read'],
  },
  {
    name: 'requested with subject undefined is bounded by the client only',
    input: { requested: ['admin'], subject: undefined, client: ['read', 'admin'] },
    expect: ['admin'],
  },
  {
    name: 'requested empty list grants nothing',
    input: { requested: [], subject: ['read'], client: ['read'] },
    expect: [],
  },
  {
    name: 'requested beyond the client',
    input: { requested: ['read', 'admin'], subject: ['read', 'admin'], client: ['read'] },
    expectError: { code: 'invalid_scope', description: 'scope not allowed for this client: admin' },
  },
  {
    name: 'requested beyond the client lists every refused scope once, space-separated',
    input: { requested: ['x', 'read', 'y', 'x'], subject: undefined, client: ['read'] },
    expectError: { code: 'invalid_scope', description: 'scope not allowed for this client: x y' },
  },
  {
    name: 'scopes are case-sensitive (RFC 6749 §3.3)',
    input: { requested: ['READ'], subject: ['READ'], client: ['read'] },
    expectError: { code: 'invalid_scope', description: 'scope not allowed for this client: READ' },
  },
  {
    name: 'requested beyond the subject',
    input: { requested: ['read', 'write'], subject: ['read'], client: ['read', 'write'] },
    expectError: { code: 'invalid_scope', description: "scope exceeds the subject_token's scope: write" },
  },
  {
    name: 'requested anything from a subject with scope []',
    input: { requested: ['read'], subject: [], client: ['read'] },
    expectError: { code: 'invalid_scope', description: "scope exceeds the subject_token's scope: read" },
  },
  {
    name: 'beyond the subject lists every refused scope once',
    input: { requested: ['a', 'b', 'a', 'c'], subject: ['c'], client: ['a', 'b', 'c'] },
    expectError: { code: 'invalid_scope', description: "scope exceeds the subject_token's scope: a b" },
  },
  {
    name: 'the client check comes first when a scope is beyond both',
    input: { requested: ['admin'], subject: ['read'], client: ['read'] },
    expectError: { code: 'invalid_scope', description: 'scope not allowed for this client: admin' },
  },
  {
    name: 'the client check comes first even if another scope is only beyond the subject',
    input: { requested: ['write', 'admin'], subject: ['read'], client: ['read', 'write'] },
    expectError: { code: 'invalid_scope', description: 'scope not allowed for this client: admin' },
  },
];

describe('narrowScope', () => {
  it.each(rows)('$name', ({ input, expect: expected, expectError }) => {
    const call = () => narrowScope(input.requested, input.subject, input.client);
    if (expectError) {
      expectOAuthError(call, expectError, InvalidScope);
    } else {
      expect(call()).toEqual(expected);
    }
  });

  it('does not return (or mutate) the client list', () => {
    const client = ['read', 'write'];
    const result = narrowScope(undefined, undefined, client);
    expect(result).not.toBe(client);
    result.push('admin');
    expect(client).toEqual(['read', 'write']);
  });
});
