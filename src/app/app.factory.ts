import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ConsoleLogger, type LoggerService, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { ConfigError } from '../config/config-error.js';
import { loadSigningKeys, type SigningKeySet } from '../keys/signing-keys.loader.js';
import { StreamAuditSink, type AuditSink } from '../audit/audit-sink.js';
import type { ServerConfig } from '../config/server-config.js';
import type { StsConfig } from './sts-config.js';
import { clock } from '../common/clock.js';
import { LiveConfig } from '../config/live-config.js';
import { initialKeyState } from '../keys/key-rotation.js';
import { buildGeneration } from '../trust-anchors/generation.js';
import { rotationTimes, type StartupState } from './config-reloader.js';
import { issuerPathRewriter } from '../oauth/endpoint-paths.js';
import { answerHttpClientError } from '../http/http-client-error.js';
import { limitConnectionsPerAddress } from '../http/connection-limit.js';
import { Drain } from '../http/drain.js';
import { registerRoutes } from '../http/route-registry.js';
import { routeProviders } from './routes.js';
import { httpTimeoutOptions } from '../http/http-timeouts.js';
import { registerFormBodyParser } from '../http/form-body.js';

export interface CreateAppOptions {
  /** Where audit lines go (default: AUDIT_LOG). */
  readonly auditSink?: AuditSink;
  readonly logger?: LoggerService | false;
  /** Signing keys already loaded (default: loaded from SIGNING_KEYS, or generated in development). */
  readonly keys?: SigningKeySet;
}

/** Builds the STS from a validated configuration; `main.ts` and the end-to-end tests both use it. */
export async function createApp(config: StsConfig, options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const { server } = config;
  // Loaded before Nest builds anything, so a bad key file is one configuration error, not a stack.
  const { startup, live } = await loadStartupState(config, options.keys);
  const auditSink = options.auditSink ?? new StreamAuditSink(server.auditLog);
  const rewrite = issuerPathRewriter(server.issuer);
  const adapter = new FastifyAdapter({
    ...(server.tlsCertFile && server.tlsKeyFile ? { https: readTlsFiles(server.tlsCertFile, server.tlsKeyFile) } : {}),
    // Only named proxies may set the client address (X-Forwarded-For); never "trust everyone".
    ...(server.trustProxy ? { trustProxy: server.trustProxy.split(',').map((entry) => entry.trim()) } : {}),
    bodyLimit: server.maxBodyBytes,
    rewriteUrl: (request: { url?: string }) => rewrite(request.url ?? '/'),
    clientErrorHandler: answerHttpClientError,
    // Audit lines carry the request id: unique across restarts and instances, never taken from the caller.
    genReqId: () => randomUUID(),
    logger: false,
    ...httpTimeoutOptions(server),
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(startup, auditSink, live), adapter, {
    bodyParser: false,
    abortOnError: false,
    logger: options.logger ?? createLogger(server),
  });
  const fastify = app.getHttpAdapter().getInstance();
  registerFormBodyParser(fastify, server.maxBodyBytes);
  const drain = app.get(Drain);
  drain.register(fastify);
  drain.track(fastify.server);
  limitConnectionsPerAddress(fastify.server, server.maxConnectionsPerAddress);
  const providers = routeProviders(config).map((provider) => app.get(provider));
  for (const provider of providers) provider.hooks?.(fastify);
  // Each request runs on the configuration generation in force when it started (a reload never mixes two).
  registerRoutes(
    fastify,
    providers.flatMap((provider) => provider.routes()),
    (handle) => live.pin(handle),
  );
  // No Nest signal handlers: only SIGTERM and SIGINT stop the server, through installShutdown (main.ts).
  await app.init();
  return app;
}

/**
 * The configuration generation the application starts on: the signing keys loaded (or generated in
 * development) and everything indexed once. `actbridge validate` builds it too, and stops there.
 */
export async function loadStartupState(
  config: StsConfig,
  loadedKeys?: SigningKeySet,
): Promise<{ startup: StartupState; live: LiveConfig }> {
  const keys = loadedKeys ?? (await loadSigningKeys(config.server, config.mode));
  const state = await initialKeyState(keys, clock.ms(), rotationTimes(config));
  const live = new LiveConfig(buildGeneration(1, config, keys));
  return { startup: { config, keys: state }, live };
}

export function createLogger(server: Pick<ServerConfig, 'logFormat' | 'logLevel'>): LoggerService {
  const order: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];
  const logLevels = order.slice(0, order.indexOf(server.logLevel) + 1);
  return new ConsoleLogger('actbridge', { json: server.logFormat === 'json', logLevels });
}

export function readTlsFiles(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } {
  const read = (file: string, variable: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new ConfigError(
        `${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}) (${variable})`,
      );
    }
  };
  const files = { cert: read(certFile, 'TLS_CERT_FILE'), key: read(keyFile, 'TLS_KEY_FILE') };
  try {
    createSecureContext(files);
  } catch (error) {
    throw new ConfigError(
      `${certFile}, ${keyFile}: not a PEM certificate chain and its private key (${(error as Error).message}) (TLS_CERT_FILE, TLS_KEY_FILE)`,
    );
  }
  return files;
}
