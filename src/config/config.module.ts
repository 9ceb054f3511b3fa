import { Global, Module, type DynamicModule } from '@nestjs/common';
import { STS_CONFIG, type StsConfig } from './sts-config.js';

/** Makes the validated configuration injectable everywhere as STS_CONFIG. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: StsConfig): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: STS_CONFIG, useValue: config }], exports: [STS_CONFIG] };
  }
}
