import { Module } from '@nestjs/common';
import { TrustAnchorsModule } from '../trust-anchors/trust-anchors.module.js';
import { AnchorHealth } from './anchor-health.js';
import { HealthController } from './health.controller.js';

/** `GET /health/live` and `GET /health/ready` (the replay store is provided globally by StoresModule). */
@Module({
  imports: [TrustAnchorsModule],
  controllers: [HealthController],
  providers: [AnchorHealth],
  exports: [AnchorHealth],
})
export class HealthModule {}
