import { describe, expect, it } from '@jest/globals';
import { InvalidRequest, InvalidScope, InvalidTarget, OAuthError } from '../oauth/oauth-error.js';
import { TokenRequestParams } from '../oauth/request-params.js';
import { TokenExchangeRequest } from './token-exchange.request.js';

/** The OAuth error class expected (compared by name). */
type ErrorClass = { readonly name: string };

const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const base = { subject_token: 'eyJ.x.y', subject_token_type: ACCESS_TOKEN };

const parse = (fields: Record<string, string | string[]>) => {
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    for (const v of Array.isArray(value) ? value : [value]) form.append(name, v);
  }
  return TokenExchangeRequest.from(TokenRequestParams.fromFormBody(form.toString()));
};

const refusal = (fields: Record<string, string | string[]>): { error: string; description: string; cls: string } => {
  try {
    parse(fields);
  } catch (error) {
    expect(error).toBeInstanceOf(OAuthError);
    const e = error as OAuthError;
    return { error: e.error, description: e.description, cls: e.constructor.name };
  }
  throw new Error('expected a refusal');
};

describe('TokenExchangeRequest.from (RFC 8693 §2.1)', () => {
  it('reads every parameter, repeatable ones as lists', () => {
    // Each known parameter comes back as sent; the unknown one is dropped.
    const known = {
      actor_token: 'eyJ.a.b',
      actor_token_type: ACCESS_TOKEN,
      scope: 'read write',
      requested_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      audience: ['a', 'https://b.example/'],
      resource: ['https://api.example/', 'urn:example:r'],
    };
    const request = parse({ ...base, ...known, unknown: 'dropped' });
    expect({ ...request }).toEqual({ subject_token: 'eyJ.x.y', subject_token_type: ACCESS_TOKEN, ...known });
    expect(request).toBeInstanceOf(TokenExchangeRequest);
    expect(request.requestedScope).toEqual(['read', 'write']);
  });

  it('leaves optional parameters undefined and lists empty', () => {
    const request = parse(base);
    expect(request.actor_token).toBeUndefined();
    expect(request.actor_token_type).toBeUndefined();
    expect(request.scope).toBeUndefined();
    expect(request.requestedScope).toBeUndefined();
    expect(request.requested_token_type).toBeUndefined();
    expect(request.audience).toEqual([]);
    expect(request.resource).toEqual([]);
  });

  const refusals: Array<[string, Record<string, string | string[]>, string, string, ErrorClass]> = [
    [
      'no subject_token',
      { subject_token_type: ACCESS_TOKEN },
      'invalid_request',
      'subject_token is required',
      InvalidRequest,
    ],
    [
      'empty subject_token',
      { ...base, subject_token: '' },
      'invalid_request',
      'subject_token is required',
      InvalidRequest,
    ],
    [
      'no subject_token_type',
      { subject_token: 'x' },
      'invalid_request',
      'subject_token_type is required',
      InvalidRequest,
    ],
    ['nothing at all: subject_token first', {}, 'invalid_request', 'subject_token is required', InvalidRequest],
    ...['read  write', ' read', 'read ', 'a"b', 'a\\b', 'é', 'read\twrite'].map(
      (scope): [string, Record<string, string>, string, string, ErrorClass] => [
        `scope ${JSON.stringify(scope)}`,
        { ...base, scope },
        'invalid_scope',
        'scope must be space-separated RFC 6749 scope-tokens',
        InvalidScope,
      ],
    ),
    ...[
      'https://api.example/#frag',
      'not a uri',
      '/relative',
      'api.example',
      // RFC 3986 has none of these characters; the WHATWG URL parser strips or escapes them and would pass them.
      ' https://api.example/',
      'https://api.example/\n',
      'https://api.ex\tample/',
      'https://api.example/a b',
      'https://api.example/\u00e9',
      'https:\\\\api.example\\',
      'https://api.example/%zz',
    ].map((resource): [string, Record<string, string | string[]>, string, string, ErrorClass] => [
      `resource ${JSON.stringify(resource)}`,
      { ...base, resource: ['https://ok.example/', resource] },
      'invalid_target',
      'resource must be an absolute URI without a fragment',
      InvalidTarget,
    ]),
    [
      'missing subject_token_type before a bad scope',
      { subject_token: 'x', scope: 'a  b' },
      'invalid_request',
      'subject_token_type is required',
      InvalidRequest,
    ],
    [
      'a bad scope before a bad resource',
      { ...base, scope: 'a  b', resource: 'x#y' },
      'invalid_scope',
      'scope must be space-separated RFC 6749 scope-tokens',
      InvalidScope,
    ],
    [
      'actor_token without actor_token_type',
      { ...base, actor_token: 'eyJ.a.b' },
      'invalid_request',
      'actor_token_type is required with actor_token',
      InvalidRequest,
    ],
    [
      'actor_token_type without actor_token',
      { ...base, actor_token_type: ACCESS_TOKEN },
      'invalid_request',
      'actor_token_type must not be sent without actor_token',
      InvalidRequest,
    ],
    [
      'a bad resource before the actor_token pairing',
      { ...base, actor_token: 'eyJ.a.b', resource: 'x#y' },
      'invalid_target',
      'resource must be an absolute URI without a fragment',
      InvalidTarget,
    ],
    [
      'a repeated single-valued parameter',
      { ...base, scope: ['read', 'write'] },
      'invalid_request',
      'parameter scope is repeated',
      InvalidRequest,
    ],
  ];

  it.each(refusals)('refuses %s', (_name, fields, error, description, cls) => {
    expect(refusal(fields)).toEqual({ error, description, cls: cls.name });
  });
});
