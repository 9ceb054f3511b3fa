import { expect } from '@jest/globals';
import { OAuthError } from '../../src/oauth/oauth-error.js';
import type { TestApp, TokenResponse } from './test-app.js';

/** What `fn` throws; fails the test when it returns. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

/** The message of what `fn` throws, which must be a `cls`. */
export function thrownMessage(fn: () => unknown, cls: abstract new (...args: never[]) => Error): string {
  const error = thrownBy(fn);
  expect(error).toBeInstanceOf(cls);
  return (error as Error).message;
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

/**
 * Asserts a refused token request: exactly the RFC 6749 §5.2 body (a RegExp matches the description), as
 * JSON with Cache-Control: no-store, and the one token.refused audit line it leaves. Returns the response.
 */
export async function expectTokenRefused(
  app: Pick<TestApp, 'audit'>,
  send: () => Promise<TokenResponse>,
  expected: { readonly status?: number; readonly error: string; readonly description: string | RegExp },
): Promise<TokenResponse> {
  const { status = 400, error, description } = expected;
  const before = app.audit.lines.length;
  const res = await send();
  const error_description = typeof description === 'string' ? description : expect.stringMatching(description);
  expect({ status: res.status, body: res.body }).toEqual({ status, body: { error, error_description } });
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(app.audit.lines.length).toBe(before + 1);
  expect(app.audit.lines.at(-1)).toMatchObject({ event: 'token.refused', outcome: 'refused', error });
  return res;
}
