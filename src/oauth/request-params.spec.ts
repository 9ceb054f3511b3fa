import { describe, expect, it } from '@jest/globals';
import { InvalidRequest, OAuthError } from './oauth-error.js';
import { TokenRequestParams } from './request-params.js';

interface Row {
  name: string;
  input: string;
  /** Expected result of single(name) for each listed name (undefined = absent). */
  single?: Record<string, string | undefined>;
  /** Expected result of multi(name) for each listed name. */
  multi?: Record<string, string[]>;
}

const rows: Row[] = [
  {
    name: 'plain parameters',
    input: 'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=abc&scope=read',
    single: { grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: 'abc', scope: 'read' },
  },
  {
    name: 'absent parameter: undefined / []',
    input: 'a=1',
    single: { missing: undefined },
    multi: { missing: [], audience: [] },
  },
  { name: "'+' decodes to a space", input: 'scope=read+write+admin', single: { scope: 'read write admin' } },
  {
    name: 'percent-decoding, including %2B as a literal plus and UTF-8',
    input: 'scope=a%20b&subject_token=x%2By%3D%3D&name=%C3%A9t%C3%A9',
    single: { scope: 'a b', subject_token: 'x+y==', name: 'été' },
  },
  {
    name: 'percent-encoded parameter names are decoded',
    input: 'sub%6Aect_token=abc',
    single: { subject_token: 'abc' },
  },
  {
    name: 'a repeated parameter does not affect reading the others',
    input: 'grant_type=x&grant_type=y&scope=a',
    single: { scope: 'a' },
    multi: { grant_type: ['x', 'y'] },
  },
  {
    name: 'audience and resource may repeat, order kept',
    input: 'audience=a1&resource=https%3A%2F%2Fr1&audience=a2&resource=https%3A%2F%2Fr2&audience=a1',
    multi: { audience: ['a1', 'a2', 'a1'], resource: ['https://r1', 'https://r2'] },
    single: { audience: 'a1', resource: 'https://r1' },
  },
  {
    name: 'empty values are omitted: scope=&scope=a is not a repeat',
    input: 'scope=&scope=a',
    single: { scope: 'a' },
    multi: { scope: ['a'] },
  },
  {
    name: 'empty and value-less parameters count as absent',
    input: 'scope=&actor_token&actor_token_type=',
    single: { scope: undefined, actor_token: undefined, actor_token_type: undefined },
    multi: { scope: [] },
  },
  { name: 'empty audience values are dropped', input: 'audience=&audience=a&audience=', multi: { audience: ['a'] } },
  { name: "a lone '+' is a space, not empty", input: 'scope=+', single: { scope: ' ' } },
  { name: 'unknown parameters are ignored, even when repeated', input: 'foo=1&foo=2&scope=a', single: { scope: 'a' } },
  { name: 'empty body', input: '', single: { grant_type: undefined }, multi: { audience: [] } },
];

describe('TokenRequestParams.fromFormBody', () => {
  it.each(rows)('$name', ({ input, single, multi }) => {
    const params = TokenRequestParams.fromFormBody(input);
    for (const [name, value] of Object.entries(single ?? {})) expect(params.single(name)).toBe(value);
    for (const [name, values] of Object.entries(multi ?? {})) expect(params.multi(name)).toEqual(values);
  });

  // single(param) of a repeated parameter is an invalid_request naming it.
  it.each([
    { name: 'repeated single-valued parameter', input: 'scope=a&scope=b', param: 'scope' },
    {
      name: 'repeated with the same value is still repeated',
      input: 'subject_token=t&subject_token=t',
      param: 'subject_token',
    },
    { name: 'repeated grant_type', input: 'grant_type=x&grant_type=y&scope=a', param: 'grant_type' },
  ])('$name', ({ input, param }) => {
    const params = TokenRequestParams.fromFormBody(input);
    let caught: unknown;
    try {
      params.single(param);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidRequest);
    const error = caught as OAuthError;
    expect({ code: error.error, description: error.description }).toEqual({
      code: 'invalid_request',
      description: `parameter ${param} is repeated`,
    });
    expect(error.status).toBe(400);
  });

  it('parsing never throws on a repeat; only single() does', () => {
    expect(() => TokenRequestParams.fromFormBody('scope=a&scope=b')).not.toThrow();
    expect(TokenRequestParams.fromFormBody('scope=a&scope=b').multi('scope')).toEqual(['a', 'b']);
  });

  it('multi() returns a copy', () => {
    const params = TokenRequestParams.fromFormBody('audience=a');
    params.multi('audience').push('injected');
    expect(params.multi('audience')).toEqual(['a']);
  });
});
