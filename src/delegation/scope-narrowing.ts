import { InvalidScope } from '../oauth/oauth-error.js';

/**
 * The scope of the issued token: never more than both the subject token's scope and the client's
 * allowed scopes. `subjectScope` undefined means the subject is an identity assertion that carries no
 * authorization (an ID token), so the client's policy alone bounds it. Without a request, the whole
 * ceiling is granted (RFC 6749 §3.3 lets the AS choose; this is the narrowest sensible default that
 * still lets a plain exchange work).
 */
export function narrowScope(
  requested: readonly string[] | undefined,
  subjectScope: readonly string[] | undefined,
  clientScopes: readonly string[],
): string[] {
  const ceiling = subjectScope === undefined ? [...clientScopes] : clientScopes.filter((s) => subjectScope.includes(s));
  if (requested === undefined) return ceiling;
  const wanted = [...new Set(requested)];
  const notForClient = wanted.filter((s) => !clientScopes.includes(s));
  if (notForClient.length > 0) {
    throw new InvalidScope(`scope not allowed for this client: ${notForClient.join(' ')}`);
  }
  const notInSubject = wanted.filter((s) => !ceiling.includes(s));
  if (notInSubject.length > 0) {
    throw new InvalidScope(`scope exceeds the subject_token's scope: ${notInSubject.join(' ')}`);
  }
  return wanted;
}
