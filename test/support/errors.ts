import { expect } from '@jest/globals';
import { OAuthError } from '../../src/oauth/oauth-error.js';

/** What `fn` throws; fails the test when it returns. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

/**
 * Asserts that `fn` throws exactly this OAuth error (code, description, status 400 unless given),
 * and an instance of `cls` when given; returns it for further checks (detail, headers).
 */
export function expectOAuthError(
  fn: () => unknown,
  expected: { readonly code: string; readonly description: string; readonly status?: number },
  cls?: abstract new (...args: never[]) => unknown,
): OAuthError {
  const caught = thrownBy(fn);
  expect(caught).toBeInstanceOf(OAuthError);
  if (cls) expect(caught).toBeInstanceOf(cls);
  const error = caught as OAuthError;
  expect({ code: error.error, description: error.description, status: error.status }).toEqual({
    status: 400,
    ...expected,
  });
  return error;
}
