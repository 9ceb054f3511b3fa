import { InvalidScope } from './oauth-error.js';

/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
export const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** RFC 6749 §3.3 `scope`: scope-tokens separated by single spaces. */
export const SCOPE_LIST = new RegExp(`^${SCOPE_TOKEN.source.slice(1, -1)}( ${SCOPE_TOKEN.source.slice(1, -1)})*$`);

/** One bound on the issued scope, and what a caller asking beyond it is told. */
export interface ScopeLimit {
  /** The scopes allowed; undefined: no bound (an identity assertion carries no scope). */
  readonly scopes: readonly string[] | undefined;
  readonly refuse: (beyond: string[]) => string;
  /** Operator detail for the audit line, when the caller's message does not say it. */
  readonly detail?: (beyond: string[]) => string;
}

/**
 * The issued scope: within every limit (the client's `scopes`, the policy rule's, the presented token's
 * or the grant's own), refused at the first limit a requested scope exceeds. Without a request, the
 * whole intersection is granted (RFC 6749 §3.3 lets the AS choose; the narrowest default that still
 * lets a plain exchange work), in the order of the first limit.
 */
export function narrowScope(requested: readonly string[] | undefined, limits: readonly ScopeLimit[]): string[] {
  const bounded = limits.filter((l): l is ScopeLimit & { scopes: readonly string[] } => l.scopes !== undefined);
  if (requested === undefined) {
    const [first, ...rest] = bounded;
    return first ? first.scopes.filter((s) => rest.every((l) => l.scopes.includes(s))) : [];
  }
  const wanted = [...new Set(requested)];
  for (const limit of bounded) {
    const beyond = wanted.filter((s) => !limit.scopes.includes(s));
    if (beyond.length > 0) {
      const named = namedInRefusal(beyond);
      throw new InvalidScope(limit.refuse(named), limit.detail ? { detail: limit.detail(named) } : {});
    }
  }
  return wanted;
}

/** Most scopes a refusal names, and longest name it repeats of each. */
const NAMED_SCOPES = 5;
const NAMED_SCOPE_LENGTH = 64;

/**
 * The scopes a refusal names: the first few, each cut short, and how many more. A request may carry a
 * body's worth of scope; its refusal and audit line repeat a bounded part of it, never all of it.
 */
export function namedInRefusal(beyond: readonly string[]): string[] {
  const named = beyond
    .slice(0, NAMED_SCOPES)
    .map((s) => (s.length > NAMED_SCOPE_LENGTH ? `${s.slice(0, NAMED_SCOPE_LENGTH)}...` : s));
  return beyond.length > NAMED_SCOPES ? [...named, `(and ${beyond.length - NAMED_SCOPES} more)`] : named;
}
