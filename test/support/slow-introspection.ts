import { startHttpStub, type HttpStub } from './http-stub.js';

/** An RFC 7662 endpoint that finds every token active, after a delay: it keeps exchanges in flight. */
export type SlowIntrospection = HttpStub;

/**
 * Starts it on a free loopback port. `delayMs` picks the delay from the request body (the presented
 * token), so one token can hang while the others are merely slow.
 */
export function startSlowIntrospection(delayMs: (body: string) => number): Promise<SlowIntrospection> {
  return startHttpStub((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk.toString()));
    req.on('end', () => {
      const timer = setTimeout(() => {
        const now = Math.floor(Date.now() / 1000);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            active: true,
            token_type: 'Bearer',
            sub: 'alice',
            client_id: 'upstream-app',
            aud: 'https://sts.example',
            exp: now + 300,
            iat: now,
          }),
        );
      }, delayMs(body));
      res.on('close', () => clearTimeout(timer));
    });
  });
}
