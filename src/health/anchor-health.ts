import { Injectable } from '@nestjs/common';
import { TrustAnchorRegistry } from '../trust-anchors/trust-anchor-registry.js';

export interface AnchorStatus {
  readonly name: string;
  readonly usable: boolean;
}

/** Which configured trust anchors can verify tokens now (actbridge's own issuer is not counted). */
@Injectable()
export class AnchorHealth {
  constructor(private readonly anchors: TrustAnchorRegistry) {}

  /**
   * Each anchor's state. An unusable one is fetched again in the background (within its cooldown): a
   * not-ready instance receives no traffic, so no exchange would ever retry the fetch for it.
   */
  all(): AnchorStatus[] {
    return this.anchors.anchors
      .filter((a) => !a.self)
      .map((anchor) => {
        const usable = anchor.usable();
        if (!usable) void anchor.warmUp();
        return { name: anchor.name, usable };
      });
  }

  usable(): AnchorStatus[] {
    return this.all().filter((a) => a.usable);
  }
}
