import { beforeAll, describe, expect, it } from '@jest/globals';
import { oneAnchorRegistry } from '../../test/support/anchors.js';
import { CompactSign, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import type { ClientConfig } from '../clients/client.config.js';
import type { ServerConfig } from '../config/server-config.js';
import { VerifiedSignatures } from '../jose/verified-signatures.js';
import { OAuthError } from '../oauth/oauth-error.js';
import { TrustAnchorConfig } from '../trust-anchors/trust-anchor.config.js';
import { JwtValidator } from './jwt.validator.js';
import { JwtTokenVerifier } from './jwt-token-verifier.js';

const ISSUER = 'https://sts.example';
const IDP = 'https://idp.example';
const AUD = 'urn:sts';
const MAX_AGE = 600;

let key: CryptoKey;
let validator: JwtValidator;
const client = { client_id: 'agent' } as ClientConfig;
const now = () => Math.floor(Date.now() / 1000);

/** A JWT from the IdP, its payload written as given (claims of any JSON type). */
async function token(claims: Record<string, unknown> = {}): Promise<string> {
  const payload: Record<string, unknown> = { iss: IDP, sub: 'alice', aud: AUD, iat: now(), exp: now() + 60, ...claims };
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'JWT' })
    .sign(key);
}

async function refusal(jwt: string): Promise<{ error: string; description: string }> {
  try {
    await validator.validate(jwt, { role: 'subject', client });
  } catch (error) {
    if (error instanceof OAuthError) return { error: error.error, description: error.description };
    throw error;
  }
  throw new Error('the token was accepted');
}

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  key = pair.privateKey;
  const config = Object.assign(new TrustAnchorConfig(), {
    issuer: IDP,
    jwks: { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' }] },
    audiences: [AUD],
    algorithms: ['ES256'],
    max_token_age: MAX_AGE,
  });
  const server = {
    issuer: ISSUER,
    clockSkew: 0,
    maxPresentedTokenLifetime: 86_400,
    upstreamTimeoutMs: 1000,
    jwksCooldown: 1,
    jwksMaxAge: 60,
    jwksMaxStale: 60,
  } as ServerConfig;
  const registry = oneAnchorRegistry(server, config);
  validator = new JwtValidator(new JwtTokenVerifier(registry, new VerifiedSignatures(0)));
});

describe('JwtTokenVerifier', () => {
  it('accepts a well-formed token', async () => {
    const validated = await validator.validate(await token(), { role: 'subject', client });
    expect(validated.principal).toEqual({ sub: 'alice', iss: IDP });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['expired', { exp: now() - 10 }, 'subject_token has expired'],
    ['nbf in the future', { nbf: now() + 60 }, 'subject_token is not yet valid (nbf)'],
    ['no sub', { sub: undefined }, 'subject_token has no sub claim'],
    ['an empty sub', { sub: '' }, 'subject_token has an empty sub claim'],
    ['a number sub', { sub: 42 }, 'subject_token has a malformed sub claim: a string is required'],
    // RFC 7519 §2: a NumericDate is a JSON number; jose's own refusal would read "not yet valid (nbf)".
    [
      'nbf a string',
      { nbf: String(now() - 60) },
      'subject_token has a malformed nbf claim: a whole number of seconds is required',
    ],
    [
      'exp a string',
      { exp: String(now() + 60) },
      'subject_token has a malformed exp claim: a whole number of seconds is required',
    ],
    ['iat null', { iat: null }, 'subject_token has a malformed iat claim: a whole number of seconds is required'],
    // RFC 7519 §4.1.3: aud is a string or an array of strings.
    ['aud an array with a number', { aud: [AUD, 5] }, 'subject_token has a malformed aud claim'],
    ['aud a number', { aud: 5 }, 'subject_token has a malformed aud claim'],
    [
      'iat older than the anchor max_token_age',
      { iat: now() - MAX_AGE - 60 },
      `subject_token is too old: issued more than ${MAX_AGE} s ago (iat)`,
    ],
  ])('refuses a token: %s', async (_name, claims, description) => {
    expect(await refusal(await token(claims))).toEqual({ error: 'invalid_request', description });
  });
});
