import { OAUTH_ERROR_CODES } from '../oauth/oauth-error.js';
import { SUPPORTED_GRANT_TYPES } from '../oauth/grant-types.js';
import { TOKEN_TYPE_NAMES } from '../oauth/token-types.js';

/**
 * Label values come from configuration and fixed tables only, never from a request: a caller cannot
 * mint series (cardinality stays bounded by the configuration).
 */

/** A label that was absent (no grant type given, no client named). */
export const NONE = 'none';
/** A value outside the table (an unsupported grant type, a client id nobody registered). */
export const OTHER = 'other';
export const UNKNOWN = 'unknown';

const GRANT_LABELS = new Map<string, string>(
  SUPPORTED_GRANT_TYPES.map((uri) => [uri, uri.slice(uri.lastIndexOf(':') + 1).replace(/-/g, '_')]),
);
const TOKEN_TYPE_LABELS = new Map<string, string>(Object.entries(TOKEN_TYPE_NAMES).map(([name, uri]) => [uri, name]));

/** `token_exchange`, `jwt_bearer`, `saml2_bearer`; `other` for anything else, `none` when absent. */
export function grantLabel(grantType: string | undefined): string {
  if (grantType === undefined) return NONE;
  return GRANT_LABELS.get(grantType) ?? OTHER;
}

/** Every grant label, for series that exist from the start. */
export const GRANT_LABEL_VALUES: readonly string[] = [...GRANT_LABELS.values()];

/** An OAuth error code of the table, `other` for anything else, `none` for a success. */
export function errorLabel(code: string | undefined): string {
  if (code === undefined) return NONE;
  return OAUTH_ERROR_CODES.has(code) ? code : OTHER;
}

/** The short name of an issued token type (`access_token`, `id-jag`, ...). */
export function tokenTypeLabel(uri: string | undefined): string {
  if (uri === undefined) return NONE;
  return TOKEN_TYPE_LABELS.get(uri) ?? OTHER;
}

/** Values allowed for a label fed by configuration (client ids, anchor names); others are `unknown`. */
export class ConfiguredValues {
  private values: ReadonlySet<string> = new Set();

  replace(values: Iterable<string>): void {
    this.values = new Set(values);
  }

  label(value: string | undefined): string {
    if (value === undefined) return NONE;
    return this.values.has(value) ? value : UNKNOWN;
  }
}

/**
 * prom-client children by label values, looked up through nested maps so that the hot path neither
 * joins strings nor hashes label objects. Label values are bounded, so the maps are too.
 */
export class ChildCache<T> {
  private readonly root = new Map<string, unknown>();

  constructor(private readonly create: (values: string[]) => T) {}

  get(...values: string[]): T {
    let map = this.root;
    for (let i = 0; i < values.length - 1; i++) {
      let next = map.get(values[i]!) as Map<string, unknown> | undefined;
      if (!next) map.set(values[i]!, (next = new Map()));
      map = next;
    }
    const last = values[values.length - 1]!;
    let child = map.get(last) as T | undefined;
    if (child === undefined) map.set(last, (child = this.create(values)));
    return child;
  }
}

/** `token_type` of a token the vault served from a provider: not one of actbridge's token types. */
export const UPSTREAM_TOKEN_LABEL = 'upstream';

const VAULT_EVENTS = new Set(['connect', 'callback', 'connect_complete', 'disconnect']);
const VAULT_OUTCOMES = new Set(['started', 'returned', 'denied', 'connected', 'disconnected', 'refused']);

/** A vault audit event (`vault.connect`) without its prefix; `other` outside the table. */
export function vaultEventLabel(event: string): string {
  const name = event.startsWith('vault.') ? event.slice('vault.'.length) : event;
  return VAULT_EVENTS.has(name) ? name : OTHER;
}

/** A vault line's outcome; `denied: <provider error>` is `denied` (the provider's code is not a label). */
export function vaultOutcomeLabel(outcome: string): string {
  const name = outcome.startsWith('denied') ? 'denied' : outcome;
  return VAULT_OUTCOMES.has(name) ? name : OTHER;
}
