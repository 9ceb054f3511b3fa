import { TOKEN_ENDPOINT_PATH } from '../oauth/endpoint-paths.js';
import { PLAYGROUND_PATH } from './playground-settings.js';

/**
 * What the paired playground (PLAYGROUND_PEER) may call from its browser origin: our token endpoint,
 * to redeem the ID-JAG it issued, and the two helpers that show the result. Never with credentials
 * (no cookie or ambient authority exists here: every request carries its own client credentials).
 */
export const PEER_CORS_PATHS: readonly string[] = [
  TOKEN_ENDPOINT_PATH,
  `${PLAYGROUND_PATH}/demo`,
  `${PLAYGROUND_PATH}/audit`,
];

/** Preflight answer (Fetch §4.8): the one method and the headers the page sends. */
export const PREFLIGHT_HEADERS: Readonly<Record<string, string>> = {
  'access-control-allow-methods': 'GET, POST',
  'access-control-allow-headers': 'authorization, content-type, dpop, x-playground-ref',
  'access-control-max-age': '600',
};

/** CORS response headers for a request from `origin` to `path`, or undefined when it is not the peer's. */
export function peerCorsHeaders(
  origin: string | undefined,
  path: string,
  peer: string | undefined,
): Record<string, string> | undefined {
  if (peer === undefined || origin !== peer || !PEER_CORS_PATHS.includes(path)) return undefined;
  return { 'access-control-allow-origin': peer, 'access-control-expose-headers': 'DPoP-Nonce' };
}
