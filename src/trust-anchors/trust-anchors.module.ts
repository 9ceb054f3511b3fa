import { Module } from '@nestjs/common';
import { SamlAnchorRegistry } from './saml-anchor-registry.js';
import { TrustAnchorRegistry } from './trust-anchor-registry.js';

@Module({
  providers: [TrustAnchorRegistry, SamlAnchorRegistry],
  exports: [TrustAnchorRegistry, SamlAnchorRegistry],
})
export class TrustAnchorsModule {}
