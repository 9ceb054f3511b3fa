import { generateEs256Key } from './jwt.js';
import { API, TT } from './paths.js';
import type { UpstreamIssuer } from './upstream.js';

export interface KidTestResult {
  readonly requests: number;
  /** JWKS fetches to the upstream issuer while the requests ran: the target is exactly 1. */
  readonly jwksFetches: number;
  readonly statuses: Record<string, number>;
  readonly ms: number;
}

/**
 * The issuer rotates in a key actbridge has never seen; `count` concurrent requests present tokens
 * signed with it. actbridge must fetch the JWKS once (shared by every waiting request), and every
 * request must succeed because the served JWKS holds the new key.
 */
export async function kidTest(options: {
  upstream: UpstreamIssuer;
  tokenEndpoint: string;
  audience: string;
  authorization: string;
  /** actbridge's JWKS_COOLDOWN, s: refetches are paced from the last attempt, so wait it out first. */
  cooldownSec: number;
  count: number;
}): Promise<KidTestResult> {
  const { upstream, count } = options;
  const post = (body: string) =>
    fetch(options.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: options.authorization },
      body,
    });
  const form = (subjectToken: string) =>
    new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: subjectToken,
      subject_token_type: TT.accessToken,
      audience: API,
    }).toString();
  // One exchange with the current key first: the client is known and its secret verified (scrypt runs
  // once per client), so the burst below measures key discovery only.
  const warm = await post(form(upstream.mint({ sub: 'alice', aud: options.audience, scope: 'read' })));
  if (warm.status !== 200) throw new Error(`kid test warm-up exchange failed: ${warm.status} ${await warm.text()}`);

  const wait = upstream.lastJwksFetchAt + options.cooldownSec * 1000 + 500 - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));

  const rotated = generateEs256Key(`rotated-${Date.now()}`);
  upstream.publish(rotated);
  const bodies = Array.from({ length: count }, () =>
    form(upstream.mint({ sub: 'alice', aud: options.audience, scope: 'read' }, rotated)),
  );
  const before = upstream.jwksFetches;
  const started = performance.now();
  const statuses = await Promise.all(
    bodies.map((body) =>
      post(body).then(
        async (response) => {
          await response.arrayBuffer();
          return String(response.status);
        },
        (error: unknown) => `error: ${(error as Error).message}`,
      ),
    ),
  );
  const ms = performance.now() - started;
  const counted: Record<string, number> = {};
  for (const status of statuses) counted[status] = (counted[status] ?? 0) + 1;
  return { requests: count, jwksFetches: upstream.jwksFetches - before, statuses: counted, ms };
}
