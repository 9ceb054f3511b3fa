import { Module } from '@nestjs/common';
import { TrustAnchorRegistry } from './trust-anchor-registry.js';

@Module({ providers: [TrustAnchorRegistry], exports: [TrustAnchorRegistry] })
export class TrustAnchorsModule {}
