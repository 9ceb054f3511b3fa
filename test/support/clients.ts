import { randomUUID } from 'node:crypto';
import { SignJWT, type CryptoKey } from 'jose';

/** A client entry of clients.yaml that authenticates with client_secret_basic; `fields` adds the rest. */
export function basicClient(
  client_id: string,
  client_secret: string,
  fields: Record<string, unknown> = {},
): Record<string, unknown> {
  return { client_id, token_endpoint_auth_method: 'client_secret_basic', client_secret, ...fields };
}

/**
 * A private_key_jwt client assertion (RFC 7523 §3, RFC 7521 §4.2) by `client`, for `aud`, signed with
 * `key` under `header` (kid and any override): iss and sub the client, a fresh jti, iat now, exp in 60 s.
 * `claims` override the payload; an undefined value removes a claim.
 */
export function clientAssertion(
  key: CryptoKey,
  header: { readonly kid: string } & Record<string, unknown>,
  client: string,
  aud: string,
  claims: Record<string, unknown> = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    iss: client,
    sub: client,
    aud,
    iat: now,
    exp: now + 60,
    jti: randomUUID(),
    ...claims,
  };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', ...header }).sign(key);
}
