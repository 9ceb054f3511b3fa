import { describe, expect, it } from '@jest/globals';
import { charsetProblem } from './form-body.js';

describe('charsetProblem', () => {
  it.each([
    [undefined],
    ['application/x-www-form-urlencoded'],
    ['application/x-www-form-urlencoded; charset=UTF-8'],
    ['Application/X-WWW-Form-URLencoded;charset="utf-8"'],
    ['application/x-www-form-urlencoded; charset=us-ascii'],
    ['application/x-www-form-urlencoded; foo=bar'],
  ])('lets %s through', (contentType) => {
    expect(charsetProblem(contentType)).toBeUndefined();
  });

  it.each([
    ['application/x-www-form-urlencoded; charset=ISO-8859-1', 'ISO-8859-1'],
    ['application/x-www-form-urlencoded;charset="utf-16"', 'utf-16'],
    ['application/x-www-form-urlencoded; charset=utf-8; CHARSET=windows-1252', 'windows-1252'],
  ])('refuses %s: 400 invalid_request', (contentType, charset) => {
    const error = charsetProblem(contentType)!;
    expect({ status: error.status, error: error.error, description: error.description, detail: error.detail }).toEqual({
      status: 400,
      error: 'invalid_request',
      description: 'unsupported charset: send the form in UTF-8',
      detail: `Content-Type charset ${JSON.stringify(charset)} (RFC 6749 Appendix B)`,
    });
  });
});
