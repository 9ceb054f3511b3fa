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
  expect: string[];
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
];

describe('narrowScope', () => {
  it.each(rows)('$name', ({ input, expect: expected }) => {
    expect(narrowScope(input.requested, input.subject, input.client)).toEqual(expected);
  });

  // Every refusal is invalid_scope; the description names the limit and the scopes beyond it.
  it.each<[name: string, requested: string[], subject: string[] | undefined, client: string[], description: string]>([
    [
      'requested beyond the client',
      ['read', 'admin'],
      ['read', 'admin'],
      ['read'],
      'scope not allowed for this client: admin',
    ],
    [
      'requested beyond the client lists every refused scope once, space-separated',
      ['x', 'read', 'y', 'x'],
      undefined,
      ['read'],
      'scope not allowed for this client: x y',
    ],
    [
      'scopes are case-sensitive (RFC 6749 §3.3)',
      ['READ'],
      ['READ'],
      ['read'],
      'scope not allowed for this client: READ',
    ],
    [
      'requested beyond the subject',
      ['read', 'write'],
      ['read'],
      ['read', 'write'],
      "scope exceeds the subject_token's scope: write",
    ],
    [
      'requested anything from a subject with scope []',
      ['read'],
      [],
      ['read'],
      "scope exceeds the subject_token's scope: read",
    ],
    [
      'beyond the subject lists every refused scope once',
      ['a', 'b', 'a', 'c'],
      ['c'],
      ['a', 'b', 'c'],
      "scope exceeds the subject_token's scope: a b",
    ],
    [
      'the client check comes first when a scope is beyond both',
      ['admin'],
      ['read'],
      ['read'],
      'scope not allowed for this client: admin',
    ],
    [
      'the client check comes first even if another scope is only beyond the subject',
      ['write', 'admin'],
      ['read'],
      ['read', 'write'],
      'scope not allowed for this client: admin',
    ],
    [
      'a refusal names five scopes and counts the rest',
      ['read', 'a', 'b', 'c', 'd', 'e', 'f', 'g'],
      undefined,
      ['read'],
      'scope not allowed for this client: a b c d e (and 2 more)',
    ],
    [
      'a refusal cuts a long scope short',
      [`${'x'.repeat(64)}yz`],
      undefined,
      ['read'],
      `scope not allowed for this client: ${'x'.repeat(64)}...`,
    ],
  ])('%s', (_name, requested, subject, client, description) => {
    expectOAuthError(
      () => narrowScope(requested, subject, client),
      { code: 'invalid_scope', description },
      InvalidScope,
    );
  });

  it('does not return (or mutate) the client list', () => {
    const client = ['read', 'write'];
    const result = narrowScope(undefined, undefined, client);
    expect(result).not.toBe(client);
    result.push('admin');
    expect(client).toEqual(['read', 'write']);
  });
});
