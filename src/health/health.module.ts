import { Module } from '@nestjs/common';
import { HealthController } from './health.controller.js';

/** `GET /health/live` and `GET /health/ready` (the replay store is provided globally by StoresModule). */
@Module({ controllers: [HealthController] })
export class HealthModule {}
