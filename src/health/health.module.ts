import { Module } from '@nestjs/common';
import { TrustAnchorsModule } from '../trust-anchors/trust-anchors.module.js';
import { AnchorHealth } from './anchor-health.js';
import { HealthRoutes } from './health.routes.js';

/** `GET /health/live` and `GET /health/ready` (the replay store is provided globally by StoresModule). */
@Module({
  imports: [TrustAnchorsModule],
  providers: [AnchorHealth, HealthRoutes],
  exports: [AnchorHealth, HealthRoutes],
})
export class HealthModule {}
