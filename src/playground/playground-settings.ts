import type { StsConfig } from '../config/sts-config.js';

/** Where the page lives, relative to the issuer's path like every other route. */
export const PLAYGROUND_PATH = '/playground';

/** PLAYGROUND: on under `start-dev` unless set `off`; in production only when explicitly `on`. */
export function playgroundEnabled(config: Pick<StsConfig, 'mode' | 'server'>): boolean {
  return (config.server.playground ?? (config.mode === 'development' ? 'on' : 'off')) === 'on';
}

/** The origin of PLAYGROUND_PEER: the one browser origin, besides our own, whose page may call us. */
export function peerOrigin(config: Pick<StsConfig, 'server'>): string | undefined {
  const peer = config.server.playgroundPeer;
  return peer === undefined ? undefined : new URL(peer).origin;
}
