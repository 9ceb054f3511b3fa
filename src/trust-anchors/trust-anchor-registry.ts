import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { Generation, LiveConfig } from '../config/live-config.js';
import { AnchorIndex, ANCHORS } from './anchor-index.js';
import type { JwtTrustAnchor, SamlTrustAnchor, TrustAnchor } from './trust-anchor.js';

/**
 * The trusted issuers of the configuration in force (reloaded on SIGHUP), looked up by exact `iss`
 * (JWT issuers) or entity ID (SAML IdPs): the two namespaces never answer for each other.
 */
@Injectable()
export class TrustAnchorRegistry implements OnApplicationBootstrap {
  constructor(private readonly live: LiveConfig) {}

  /** A registry of a fixed set of anchors (tests and tools that never reload). */
  static of(index: AnchorIndex): TrustAnchorRegistry {
    return new TrustAnchorRegistry(new LiveConfig(new Generation(1, [[ANCHORS, index]])));
  }

  /** The JWT issuer `issuer` (actbridge's own included), or undefined when it is not trusted. */
  find(issuer: string): JwtTrustAnchor | undefined {
    return this.live.read(ANCHORS).jwtIssuers.get(issuer);
  }

  /** The SAML IdP with entity ID `entityId`, or undefined when it is not trusted. */
  findSaml(entityId: string): SamlTrustAnchor | undefined {
    return this.live.read(ANCHORS).samlIdps.get(entityId);
  }

  /**
   * The anchor that introspects opaque access tokens presented by this client, if any. An opaque token
   * names no issuer: the presenting client's binding is the only thing that routes it, so it is never
   * sent to more than this one endpoint.
   */
  introspectingAnchorFor(clientId: string): JwtTrustAnchor | undefined {
    return this.live.read(ANCHORS).introspectingFor.get(clientId);
  }

  /** Every anchor, actbridge's own first. */
  get anchors(): TrustAnchor[] {
    return this.live.read(ANCHORS).anchors;
  }

  /** Fetches remote keys in the background so the first exchange does not wait; never blocks startup. */
  onApplicationBootstrap(): void {
    AnchorIndex.warmUp(this.anchors);
  }
}
