import type { RunMode } from '../config/run-mode.js';
import type { ServerConfig } from '../config/server-config.js';

/** Where the page lives, relative to the issuer's path like every other route. */
export const PLAYGROUND_PATH = '/playground';

/** PLAYGROUND: on under `start-dev` unless set `off`; in production only when explicitly `on`. */
export function playgroundEnabled(mode: RunMode, server: Pick<ServerConfig, 'playground'>): boolean {
  return (server.playground ?? (mode === 'development' ? 'on' : 'off')) === 'on';
}

/** The origin of PLAYGROUND_PEER: the one browser origin, besides our own, whose page may call us. */
export function peerOrigin(server: Pick<ServerConfig, 'playgroundPeer'>): string | undefined {
  const peer = server.playgroundPeer;
  return peer === undefined ? undefined : new URL(peer).origin;
}
