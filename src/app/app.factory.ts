import cluster from 'node:cluster';
import type { Socket } from 'node:net';
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';
import { AppModule } from './app.module.js';
import { uuid } from '../common/uuid.js';
import { ConfigError, holdsKeyMaterial } from '../config/config-error.js';
import { loadSigningKeys, type SigningKeySet } from '../keys/signing-keys.loader.js';
import { StreamAuditSink, type AuditSink } from '../audit/audit-sink.js';
import type { ServerConfig } from '../config/server-config.js';
import type { StsConfig } from './sts-config.js';
import { clock } from '../common/clock.js';
import { LiveConfig } from '../config/live-config.js';
import { inheritKeyState, initialKeyState, INHERITED_KEYS_ENV, type KeyStateSnapshot } from '../keys/key-rotation.js';
import { buildGeneration } from '../trust-anchors/generation.js';
import { ConfigReloader, rotationTimes, type StartupState } from './config-reloader.js';
import { CLIENTS } from '../clients/client-registry.js';
import { issuerPathRewriter } from '../oauth/endpoint-paths.js';
import { answerFrameworkError, answerHttpClientError } from '../http/http-client-error.js';
import { AuditTrail, type HttpRefusal } from '../audit/audit-trail.js';
import { limitConnectionsPerAddress } from '../http/connection-limit.js';
import { Drain } from '../http/drain.js';
import { registerRoutes } from '../http/route-registry.js';
import { routeProviders } from './routes.js';
import { httpTimeoutOptions } from '../http/http-timeouts.js';
import { registerFormBodyParser } from '../http/form-body.js';
import { registerFramingCheck, SERVER_OPTIONS } from '../http/request-framing.js';
import { registerAccessLog } from '../http/access-log.js';
import { registerSecurityHeaders } from '../http/security-headers.js';
import type { RunMode } from '../config/run-mode.js';
import { KeyService } from '../keys/key-service.js';
import { ManagementServer } from '../management/management-server.js';
import { AppLogger } from '../observability/logger.js';
import { Metrics, type RemoteFetchObserver } from '../observability/metrics.js';
import { TrustAnchorRegistry } from '../trust-anchors/trust-anchor-registry.js';
import { ANCHORS, SELF_ANCHOR_NAME } from '../trust-anchors/anchor-index.js';
import { observeKeysAndCertificates } from './observed-keys.js';

export interface CreateAppOptions {
  /** Where audit lines go (default: AUDIT_LOG in AUDIT_FORMAT). */
  readonly auditSink?: AuditSink;
  /** The application logger (default: LOG_LEVEL, LOG_FORMAT on stderr); an AppLogger also writes the access log. */
  readonly logger?: AppLogger | LoggerService | false;
  /** The Prometheus series (default: a new registry for this application). */
  readonly metrics?: Metrics;
  /** Signing keys already loaded (default: loaded from SIGNING_KEYS, or generated in development). */
  readonly keys?: SigningKeySet;
}

/** Builds the STS from a validated configuration; `main.ts` and the end-to-end tests both use it. */
export async function createApp(config: StsConfig, options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const { server } = config;
  // Loaded before Nest builds anything, so a bad key file is one configuration error, not a stack.
  const metrics = options.metrics ?? new Metrics();
  metrics.allowLabels({
    clientIds: config.clients.map((c) => c.client_id),
    anchors: [SELF_ANCHOR_NAME, ...config.anchors.map((a) => a.name)],
  });
  const { startup, live } = await loadStartupState(config, options.keys, metrics);
  const auditSink = options.auditSink ?? new StreamAuditSink(server.auditLog, server.auditFormat);
  const logger = options.logger ?? createLogger(server, config.mode);
  const rewrite = issuerPathRewriter(server.issuer);
  // Set once the application exists: a request Node's parser refused leaves its audit line too.
  const refusals: { report?: (refusal: HttpRefusal) => void } = {};
  const timeouts = httpTimeoutOptions(server);
  // Fastify hands `http` to http.createServer only; with TLS the same options go with the certificate.
  const serverOptions = { ...timeouts.http, ...SERVER_OPTIONS };
  const adapter = new FastifyAdapter({
    ...(server.tlsCertFile && server.tlsKeyFile
      ? { https: { ...readTlsFiles(server.tlsCertFile, server.tlsKeyFile), ...serverOptions } }
      : {}),
    // Only named proxies may set the client address (X-Forwarded-For); never "trust everyone".
    ...(server.trustProxy ? { trustProxy: server.trustProxy.split(',').map((entry) => entry.trim()) } : {}),
    bodyLimit: server.maxBodyBytes,
    rewriteUrl: (request: { url?: string }) => rewrite(request.url ?? '/'),
    clientErrorHandler: (error: Error, socket: Socket) => {
      const refusal = answerHttpClientError(error, socket);
      if (refusal) refusals.report?.(refusal);
    },
    // The router's own refusals (a path that does not percent-decode) come before any hook or route.
    frameworkErrors: (error: Error, _: unknown, reply: FastifyReply) =>
      refusals.report?.(answerFrameworkError(error, reply)),
    // Audit lines carry the request id: unique across restarts and instances, never taken from the caller.
    genReqId: uuid,
    logger: false,
    ...timeouts,
    http: serverOptions,
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(startup, { auditSink, live, metrics }),
    adapter,
    { bodyParser: false, abortOnError: false, logger: logger instanceof AppLogger ? logger.nest() : logger },
  );
  const fastify = app.getHttpAdapter().getInstance();
  const audit = app.get(AuditTrail);
  refusals.report = (refusal) => audit.httpRefused(refusal);
  if (logger instanceof AppLogger) registerAccessLog(fastify, (fields) => logger.access(fields));
  observeKeysAndCertificates(metrics, app.get(KeyService), app.get(TrustAnchorRegistry));
  countReloads(app.get(ConfigReloader), metrics, live);
  registerFramingCheck(fastify, (refusal) => audit.httpRefused(refusal));
  registerSecurityHeaders(fastify);
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
  observer?: RemoteFetchObserver,
): Promise<{ startup: StartupState; live: LiveConfig }> {
  const keys = loadedKeys ?? (await loadSigningKeys(config.server, config.mode));
  // A replacement worker continues the running workers' rotation: a restart would skip the publish lead
  // and drop the retired keys they still publish, so the workers would sign and publish differently.
  const inherited = await inheritedKeys(config, keys);
  const state = inherited?.state ?? (await initialKeyState(keys, clock.ms(), rotationTimes(config)));
  const live = new LiveConfig(buildGeneration(1, config, state.keys, undefined, observer));
  return { startup: { config, keys: state, notes: inherited?.notes }, live };
}

/** The key state a replacement worker inherits (INHERITED_KEYS_ENV, set by the primary), if any. */
async function inheritedKeys(config: StsConfig, keys: SigningKeySet) {
  const text = cluster.isWorker && !keys.ephemeral ? process.env[INHERITED_KEYS_ENV] : undefined;
  if (text === undefined) return undefined;
  const snapshot = JSON.parse(text) as KeyStateSnapshot;
  const rotation = await inheritKeyState(snapshot, keys, clock.ms(), rotationTimes(config));
  if (rotation === undefined) {
    const note = `kid ${snapshot.active}, which the running workers sign with, has no private key in SIGNING_KEYS: this worker starts with kid ${keys.active.kid}`;
    return { state: await initialKeyState(keys, clock.ms(), rotationTimes(config)), notes: [note] };
  }
  return { state: rotation.state, notes: ["continuing the running workers' key rotation", ...rotation.notes] };
}

/** Reload outcomes as metrics; a new configuration's client ids and anchor names become label values. */
function countReloads(reloader: ConfigReloader, metrics: Metrics, live: LiveConfig): void {
  reloader.observe({
    onReload(event) {
      if (event.outcome === 'success') {
        metrics.allowLabels({
          clientIds: live.generation.get(CLIENTS).clients.map((client) => client.client_id),
          anchors: [SELF_ANCHOR_NAME, ...live.generation.get(ANCHORS).byName.keys()],
        });
      }
      metrics.configReloaded(event.outcome);
    },
  });
}

/** LOG_LEVEL and LOG_FORMAT: text for a person (start-dev, a terminal), JSON for everything else. */
export function createLogger(server: Pick<ServerConfig, 'logFormat' | 'logLevel'>, mode: RunMode): AppLogger {
  const format = server.logFormat ?? (mode === 'development' || process.stderr.isTTY ? 'text' : 'json');
  return new AppLogger({ level: server.logLevel, format });
}

/**
 * Starts the management listener (`/metrics`, health) unless MANAGEMENT_PORT is 0; resolves to its
 * port, or undefined when it is off. It closes with the application.
 */
export async function listenManagement(
  app: NestFastifyApplication,
  server: Pick<
    ServerConfig,
    'managementPort' | 'managementHost' | 'requestTimeoutMs' | 'headersTimeoutMs' | 'keepAliveTimeoutMs'
  >,
): Promise<number | undefined> {
  if (server.managementPort === 0) return undefined;
  return app.get(ManagementServer).listen(server.managementPort, server.managementHost, server);
}

export function readTlsFiles(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } {
  const read = (file: string, variable: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (error) {
      // A key given inline is no path: the message must not repeat a private key into the logs.
      if (holdsKeyMaterial(file) || (error as NodeJS.ErrnoException).code === 'ENAMETOOLONG') {
        throw new ConfigError(
          `environment: ${variable}: is not a path; give the path of a PEM file, not its content (the value is not repeated here)`,
        );
      }
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
