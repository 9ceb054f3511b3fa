import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { ConsoleLogger, type LoggerService, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { StreamAuditSink, type AuditSink } from './audit/audit-sink.js';
import type { ServerConfig } from './config/server-config.js';
import type { StsConfig } from './config/sts-config.js';
import { issuerPathRewriter } from './metadata/endpoint-paths.js';
import { answerHttpClientError } from './oauth-errors/http-client-error.js';
import { limitConnectionsPerAddress } from './server/connection-limit.js';
import { Drain } from './server/drain.js';
import { httpTimeoutOptions } from './server/http-timeouts.js';
import { registerFormBodyParser } from './token-endpoint/form-body.js';

export interface CreateAppOptions {
  /** Where audit lines go (default: AUDIT_LOG). */
  readonly auditSink?: AuditSink;
  readonly logger?: LoggerService | false;
}

/** Builds the STS from a validated configuration; `main.ts` and the end-to-end tests both use it. */
export async function createApp(config: StsConfig, options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const { server } = config;
  const rewrite = issuerPathRewriter(server.issuer);
  const adapter = new FastifyAdapter({
    bodyLimit: server.maxBodyBytes,
    rewriteUrl: (request: { url?: string }) => rewrite(request.url ?? '/'),
    clientErrorHandler: answerHttpClientError,
    // Audit lines carry the request id: unique across restarts and instances, never taken from the caller.
    genReqId: () => randomUUID(),
    logger: false,
    ...httpTimeoutOptions(server),
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, options.auditSink ?? new StreamAuditSink(server.auditLog)),
    adapter,
    {
      bodyParser: false,
      abortOnError: false,
      logger: options.logger ?? createLogger(server),
    },
  );
  const fastify = app.getHttpAdapter().getInstance();
  registerFormBodyParser(fastify, server.maxBodyBytes);
  const drain = app.get(Drain);
  drain.register(fastify);
  drain.track(fastify.server);
  limitConnectionsPerAddress(fastify.server, server.maxConnectionsPerAddress);
  // No Nest signal handlers: only SIGTERM and SIGINT stop the server, through installShutdown (main.ts).
  await app.init();
  return app;
}

export function createLogger(server: Pick<ServerConfig, 'logFormat' | 'logLevel'>): LoggerService {
  const order: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];
  const logLevels = order.slice(0, order.indexOf(server.logLevel) + 1);
  return new ConsoleLogger('actbridge', { json: server.logFormat === 'json', logLevels });
}
