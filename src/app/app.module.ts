import { Module, type DynamicModule } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import type { AuditSink } from '../audit/audit-sink.js';
import { ConfigModule } from './config.module.js';
import { optionalModules } from './routes.js';
import { HealthModule } from '../health/health.module.js';
import { ManagementModule } from '../management/management.module.js';
import { MetricsModule } from '../observability/metrics.module.js';
import type { Metrics } from '../observability/metrics.js';
import { IntrospectionModule } from '../introspection/introspection.module.js';
import { KeysModule } from '../keys/keys.module.js';
import type { LiveConfig } from '../config/live-config.js';
import { ConfigReloader, STARTUP_STATE, type StartupState } from './config-reloader.js';
import { MetadataModule } from '../metadata/metadata.module.js';
import { OAuthErrorsModule } from '../http/oauth-errors.module.js';
import { ServerModule } from '../http/server.module.js';
import { StoresModule } from '../stores/stores.module.js';
import { TokenEndpointModule } from '../token-endpoint/token-endpoint.module.js';

@Module({})
export class AppModule {
  static forRoot(
    startup: StartupState,
    { auditSink, live, metrics }: { auditSink: AuditSink; live: LiveConfig; metrics: Metrics },
  ): DynamicModule {
    const { config } = startup;
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config, live),
        MetricsModule.forRoot(metrics),
        AuditModule.forRoot(auditSink),
        OAuthErrorsModule,
        ServerModule,
        StoresModule,
        KeysModule,
        TokenEndpointModule,
        MetadataModule,
        HealthModule,
        ManagementModule,
        IntrospectionModule,
        ...optionalModules(config),
      ],
      providers: [{ provide: STARTUP_STATE, useValue: startup }, ConfigReloader],
      exports: [ConfigReloader],
    };
  }
}
