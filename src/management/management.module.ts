import { Module } from '@nestjs/common';
import { HealthModule } from '../health/health.module.js';
import { ManagementServer } from './management-server.js';

/** The management listener; started by `serve` (main.ts) when MANAGEMENT_PORT is not 0. */
@Module({ imports: [HealthModule], providers: [ManagementServer], exports: [ManagementServer] })
export class ManagementModule {}
