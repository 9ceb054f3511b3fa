import { Global, Module } from '@nestjs/common';
import { Drain } from './drain.js';

/** The HTTP server's own state shared with the application (the drain, for readiness). */
@Global()
@Module({ providers: [Drain], exports: [Drain] })
export class ServerModule {}
