import { InvalidGrant, InvalidRequest, OAuthError, TemporarilyUnavailable } from '../oauth/oauth-error.js';
import { rootCause } from '../trust-anchors/fetch-failure.js';
import { openJson, VaultDecryptionError } from './envelope.js';
import type { KeyRing } from './key-ring.js';
import { UpstreamError } from './upstream-provider.js';
import type { LoadedConnection } from './vault-config.js';
import { grantBinding, scopesAsSealed, type GrantRecord, type UpstreamTokens } from './vault-store.js';

/** Seconds a caller is asked to wait when the provider is down and the stored token has expired. */
export const UPSTREAM_RETRY_AFTER = 30;
/** Seconds a caller is asked to wait when the vault's database does not answer. */
const STORE_RETRY_AFTER = 5;

export function notConnected(connection: LoadedConnection): OAuthError {
  return new InvalidGrant(`the user has not connected a ${connection.name} account; the user must connect it first`);
}

/** The grant is (now) disconnected: only the user can fix it, by connecting again. */
export function reconnect(connection: LoadedConnection, reason: string): OAuthError {
  return new InvalidGrant(
    `the user's ${connection.name} authorization was revoked or has expired; the user must reconnect the account`,
    { detail: `grant disconnected: ${reason}` },
  );
}

/**
 * RFC 9207 §2.4: an authorization response (an error response too) naming another issuer than the
 * connection's provider (a mix-up), or naming none when the provider says it sends `iss`.
 */
export async function responseIssuerProblem(
  connection: LoadedConnection,
  iss: string | undefined,
  sendsIssuer: () => Promise<boolean>,
): Promise<OAuthError | undefined> {
  if (iss !== undefined) return otherIssuer(connection, iss);
  if (!(await sendsIssuer())) return undefined;
  return new InvalidRequest('the authorization response has no iss, which its provider says it sends', {
    detail: `${connection.name}: authorization_response_iss_parameter_supported is true at ${connection.config.provider.issuer}`,
  });
}

function otherIssuer(connection: LoadedConnection, iss: string): OAuthError | undefined {
  const issuer = connection.config.provider.issuer;
  // As URLs: discovery matches the configured issuer so (a trailing slash aside) to the one the provider names.
  if (iss === issuer || (URL.canParse(iss) && new URL(iss).href === new URL(issuer).href)) {
    return undefined;
  }
  return new InvalidRequest('the authorization response names another issuer', {
    detail: `iss ${JSON.stringify(iss.slice(0, 200))} is not ${issuer}`,
  });
}

/** A call to the connection's provider: its failures become a refusal (rejected) or a 503 (unavailable). */
export async function providerCall<T>(connection: LoadedConnection, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof UpstreamError)) throw error;
    if (error.kind === 'rejected') {
      throw new InvalidGrant(`the provider refused the ${what}; start the connection again`, {
        detail: `${connection.name}: ${error.detail}`,
      });
    }
    throw new TemporarilyUnavailable(`${connection.name} cannot be reached; retry later`, {
      detail: `${connection.name}: ${error.detail}`,
      headers: { 'retry-after': String(UPSTREAM_RETRY_AFTER) },
    });
  }
}

/** RFC 6749 §5.2 has no code for it; temporarily_unavailable (§4.1.2.1) with Retry-After says what to do. */
export function upstreamUnavailable(connection: LoadedConnection, error: UpstreamError): OAuthError {
  return new TemporarilyUnavailable(
    `${connection.name} cannot be reached to refresh the user's expired token; retry later`,
    {
      detail: `${connection.name}: ${error.detail}`,
      headers: { 'retry-after': String(UPSTREAM_RETRY_AFTER) },
      cause: error,
    },
  );
}

/** Runs a store operation; what goes wrong below it becomes a 503 the caller can act on. */
export async function vaultStoreCall<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof OAuthError) throw error;
    if (error instanceof VaultDecryptionError) {
      // An operator's matter (a key removed from VAULT_KEYS too early, a row tampered with).
      throw new TemporarilyUnavailable("the token vault cannot read the user's stored token", {
        detail: `vault decryption failed: ${error.message}`,
        cause: error,
      });
    }
    // PostgreSQL lock_not_available: another instance's refresh of this grant did not finish in time.
    if ((error as { code?: unknown }).code === '55P03') {
      throw new TemporarilyUnavailable("the user's token is being refreshed; retry later", {
        detail: 'vault store: timed out waiting for the grant lock',
        headers: { 'retry-after': String(STORE_RETRY_AFTER) },
        cause: error,
      });
    }
    throw new TemporarilyUnavailable('the token vault is unavailable; retry later', {
      detail: `vault store error: ${rootCause(error)}`,
      headers: { 'retry-after': String(STORE_RETRY_AFTER) },
      cause: error,
    });
  }
}

export function openTokens(ring: KeyRing, record: GrantRecord): UpstreamTokens {
  if (!record.sealed) throw new VaultDecryptionError('the grant holds no tokens');
  return openJson<UpstreamTokens>(ring, record.sealed, grantBinding(record.key));
}

/**
 * A grant's tokens for serving: the exchange's scope check read the `scopes` column, which must say what
 * the sealed token carries, or a row edited in the database would hand a caller a token its rule does
 * not grant.
 */
export function openServable(ring: KeyRing, record: GrantRecord): UpstreamTokens {
  const tokens = openTokens(ring, record);
  if (!scopesAsSealed(tokens, record.scopes)) {
    throw new VaultDecryptionError("the grant's scopes are not those sealed with its tokens (tampered)");
  }
  return tokens;
}
