/**
 * Mints tokens from the DEMO identity provider (trust-anchors/demo-idp.yaml), for trying actbridge
 * with curl. Prints shell assignments: `eval "$(npm run -s demo:tokens)"`.
 *   USER_TOKEN   a user's JWT access token (sub alice, scope "read write"), audience actbridge
 *   AGENT_TOKEN  the agent's own token (sub agent-1), to present as actor_token
 *   ID_TOKEN     alice's OpenID Connect ID token, issued to client `chat-agent` (the Cross App Access
 *                walk-through in README.md, examples/xaa/)
 */
import { readFileSync } from 'node:fs';
import { importJWK, SignJWT, type JWK } from 'jose';
import { clock } from '../common/clock.js';

const ISSUER = 'https://demo-idp.actbridge.invalid';
const AUDIENCE = 'urn:actbridge:demo';
const keyFile = new URL('../../examples/demo-idp/private-key.jwk.json', import.meta.url);
const jwk = JSON.parse(readFileSync(keyFile, 'utf8')) as JWK;
const key = await importJWK(jwk, 'ES256');

async function mint(typ: string, claims: Record<string, unknown>, audience = AUDIENCE): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: jwk.kid!, typ })
    .setIssuer(ISSUER)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime('1h')
    .setJti(crypto.randomUUID())
    .sign(key);
}

const user = await mint('at+jwt', { sub: 'alice', client_id: 'demo-portal', scope: 'read write' });
const agent = await mint('JWT', { sub: 'agent-1' });
const now = clock.seconds();
const idToken = await mint(
  'JWT',
  { sub: 'alice', email: 'alice@example.com', auth_time: now, amr: ['pwd'], acr: 'urn:demo:loa:1' },
  'chat-agent',
);
process.stdout.write(`USER_TOKEN=${user}\nAGENT_TOKEN=${agent}\nID_TOKEN=${idToken}\n`);
