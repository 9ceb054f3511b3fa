import { Global, Module, type DynamicModule } from '@nestjs/common';
import { METRICS, type Metrics } from './metrics.js';

/** Provides the application's Metrics to every module (optional where injected: tools run without). */
@Global()
@Module({})
export class MetricsModule {
  static forRoot(metrics: Metrics): DynamicModule {
    return { module: MetricsModule, providers: [{ provide: METRICS, useValue: metrics }], exports: [METRICS] };
  }
}
