import { ClientIndex, CLIENTS } from '../clients/client-registry.js';
import type { ClientConfig } from '../clients/client.config.js';
import { Generation } from '../config/live-config.js';
import type { RunMode } from '../config/run-mode.js';
import type { ServerConfig } from '../config/server-config.js';
import { KEYS } from '../keys/key-service.js';
import { PublishedKeys } from '../keys/published-keys.js';
import type { SigningKeySet } from '../keys/signing-keys.loader.js';
import { AnchorIndex, ANCHORS } from './anchor-index.js';
import type { LoadedTrustAnchor } from './anchor-loader.js';
import type { RemoteFetchObserver } from '../observability/metrics.js';

/** What a configuration generation is built from: the validated files (the environment stays as started). */
export interface GenerationSource {
  readonly mode: RunMode;
  readonly server: ServerConfig;
  readonly clients: readonly ClientConfig[];
  readonly anchors: readonly LoadedTrustAnchor[];
}

/**
 * Indexes a validated configuration once (clients by id, anchors by issuer, keys as a JWKS), for
 * the request path to read without further work. Anchors unchanged since `previous` keep their
 * runtime objects, and so their fetched keys and caches. `observer` counts remote key fetches (metrics).
 */
export function buildGeneration(
  id: number,
  source: GenerationSource,
  keys: SigningKeySet,
  previous?: Generation,
  observer?: RemoteFetchObserver,
): Generation {
  const published = new PublishedKeys(keys);
  const anchors = new AnchorIndex(
    source.server,
    source.mode,
    source.anchors,
    published,
    previous?.get(ANCHORS),
    observer,
  );
  return new Generation(id, [
    [CLIENTS, new ClientIndex(source.clients)],
    [ANCHORS, anchors],
    [KEYS, published],
  ]);
}
