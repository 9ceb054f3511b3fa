import { describe, expect, it } from '@jest/globals';
import { InvalidRequest, InvalidScope, InvalidTarget, OAuthError } from '../oauth/oauth-error.js';
import { TokenRequestParams } from '../oauth/request-params.js';
import { JwtBearerRequest } from './jwt-bearer.request.js';

/** The OAuth error class expected (compared by name). */
type ErrorClass = { readonly name: string };
type Fields = Record<string, string | string[]>;

const parse = (fields: Fields) => {
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    for (const v of Array.isArray(value) ? value : [value]) form.append(name, v);
  }
  return JwtBearerRequest.from(TokenRequestParams.fromFormBody(form.toString()));
};

describe('JwtBearerRequest.from (RFC 7523 §2.1)', () => {
  it('reads assertion, scope and resources; drops the rest', () => {
    const request = parse({
      assertion: 'eyJ.a.b',
      scope: 'read write',
      resource: ['https://api.example/', 'urn:example:r'],
      audience: 'ignored',
    });
    expect({ ...request }).toEqual({
      assertion: 'eyJ.a.b',
      scope: 'read write',
      resource: ['https://api.example/', 'urn:example:r'],
    });
    expect(request).toBeInstanceOf(JwtBearerRequest);
    expect(request.requestedScope).toEqual(['read', 'write']);
    expect(parse({ assertion: 'x' })).toMatchObject({ scope: undefined, resource: [] });
    expect(parse({ assertion: 'x' }).requestedScope).toBeUndefined();
  });

  const refusals: Array<[string, Fields, string, string, ErrorClass]> = [
    ['no assertion', {}, 'invalid_request', 'assertion is required', InvalidRequest],
    ['an empty assertion', { assertion: '' }, 'invalid_request', 'assertion is required', InvalidRequest],
    [
      'a repeated assertion',
      { assertion: ['a', 'b'] },
      'invalid_request',
      'parameter assertion is repeated',
      InvalidRequest,
    ],
    ['no assertion before a bad scope', { scope: 'a  b' }, 'invalid_request', 'assertion is required', InvalidRequest],
    [
      'a malformed scope',
      { assertion: 'x', scope: 'a\\b' },
      'invalid_scope',
      'scope must be space-separated RFC 6749 scope-tokens',
      InvalidScope,
    ],
    [
      'a bad scope before a bad resource',
      { assertion: 'x', scope: ' a', resource: 'x#y' },
      'invalid_scope',
      'scope must be space-separated RFC 6749 scope-tokens',
      InvalidScope,
    ],
    [
      'a resource with a fragment',
      { assertion: 'x', resource: ['https://ok.example/', 'https://api.example/#f'] },
      'invalid_target',
      'resource must be an absolute URI without a fragment',
      InvalidTarget,
    ],
    [
      'a relative resource',
      { assertion: 'x', resource: '/api' },
      'invalid_target',
      'resource must be an absolute URI without a fragment',
      InvalidTarget,
    ],
  ];

  it.each(refusals)('refuses %s', (_name, fields, error, description, cls) => {
    let thrown: unknown;
    try {
      parse(fields);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(OAuthError);
    const e = thrown as OAuthError;
    expect({ error: e.error, description: e.description, cls: e.constructor.name }).toEqual({
      error,
      description,
      cls: cls.name,
    });
  });
});
