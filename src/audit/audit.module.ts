import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { AuditTrail } from './audit-trail.js';
import { AUDIT_SINK, type AuditSink } from './audit-sink.js';

@Global()
@Module({})
export class AuditModule implements OnApplicationShutdown {
  constructor(@Inject(AUDIT_SINK) private readonly sink: AuditSink) {}

  /** Flushes a file sink, so the last lines before a shutdown are not lost. */
  async onApplicationShutdown(): Promise<void> {
    await this.sink.close?.();
  }

  static forRoot(sink: AuditSink): DynamicModule {
    return {
      module: AuditModule,
      providers: [{ provide: AUDIT_SINK, useValue: sink }, AuditTrail],
      exports: [AuditTrail, AUDIT_SINK],
    };
  }
}
