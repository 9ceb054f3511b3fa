import 'reflect-metadata';
import { IsIn, IsOptional, IsString, Matches } from 'class-validator';
import {
  IsHostAddress,
  IsIntInRange,
  IsNonEmptyString,
  IsParsableUrl,
  IsSecureUrl,
  IsNotEveryAddress,
  IsTrustedProxyList,
  isHostAddress,
  isLoopbackHost,
} from './config-validators.js';
import { ConfigError } from './config-error.js';
import type { RunMode } from './run-mode.js';
import { validateConfig } from './validate-config.js';

/** One documented environment setting. The README's reference table is generated from this list. */
export interface EnvSettingDoc {
  readonly env: string;
  readonly property: string;
  readonly description: string;
  readonly defaultText: string;
}

const ENV_SETTINGS: EnvSettingDoc[] = [];
const DEFAULTS = new Map<string, unknown>();

/** Binds a ServerConfig property to an environment variable, with its documentation and default. */
function Env(
  env: string,
  description: string,
  defaultValue?: string | number,
  defaultText = defaultValue === undefined ? '(unset)' : String(defaultValue),
): PropertyDecorator {
  return (_target, property) => {
    ENV_SETTINGS.push({ env, property: String(property), description, defaultText });
    if (defaultValue !== undefined) DEFAULTS.set(String(property), defaultValue);
  };
}

export const SIGNING_ALGORITHMS = ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/** LOG_LEVEL values: pino's standard names; `log` (Nest's name for info) is accepted as info. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'log', 'debug', 'trace'] as const;
export type LogLevelSetting = (typeof LOG_LEVELS)[number];

/** The highest TCP port: PORT and MANAGEMENT_PORT go up to it. */
const MAX_PORT = 65535;

/**
 * Server settings, from environment variables. Every field is validated at startup; a bad value stops
 * the process with a message naming the variable.
 */
export class ServerConfig {
  @Env('PORT', 'TCP port the STS listens on.', 8080)
  @IsIntInRange(0, MAX_PORT)
  port!: number;

  @Env(
    'HOST',
    'Interface to bind: an IP address or a host name. Loopback by default; set 0.0.0.0 in a container.',
    '127.0.0.1',
  )
  @IsHostAddress()
  host!: string;

  @Env(
    'ISSUER',
    'Issuer identifier (RFC 8414): `iss` of issued tokens and base of every endpoint URL. https, or http on a loopback host. Required in production when HOST is not loopback.',
    undefined,
    'http://localhost:$PORT',
  )
  @IsSecureUrl()
  @Matches(/^[^?]*$/, { message: 'must not have a query' })
  issuer!: string;

  @Env(
    'TRUST_ANCHORS_DIR',
    'Directory of trust-anchor files (`*.yaml`, `*.yml`), one per trusted issuer.',
    './trust-anchors',
  )
  @IsString()
  trustAnchorsDir!: string;

  @Env('CLIENTS_FILE', 'YAML file registering the clients and their policies.', './config/clients.yaml')
  @IsString()
  clientsFile!: string;

  @Env(
    'SIGNING_KEYS',
    'Signing keys: a JWK/JWKS JSON file, a PEM file, or a directory of them. Required in production; unset under `start-dev`, an ephemeral key is generated.',
  )
  @IsOptional()
  @IsNonEmptyString()
  signingKeys?: string;

  @Env(
    'SIGNING_KEY_ID',
    '`kid` of the active signing key, when SIGNING_KEYS holds several private keys and no key file is named `*.active.json`.',
  )
  @IsOptional()
  @IsString()
  signingKeyId?: string;

  @Env(
    'SIGNING_KEYS_RELOAD_INTERVAL',
    'Seconds between re-reads of SIGNING_KEYS (key rotation without restarts; SIGHUP re-reads it at once too), at most 86400; 0 turns the re-read off.',
    60,
  )
  // A timer is at most 2^31-1 ms: Node runs a longer one after 1 ms, so a month would re-read 1000 times a second.
  @IsIntInRange(0, 86400)
  signingKeysReloadInterval!: number;

  @Env(
    'SIGNING_KEYS_PUBLISH_LEAD',
    'Seconds a new key is published before it may sign (a key marked active earlier waits); the JWKS `Cache-Control: max-age` is half of it, so resource servers see a key before its first token. More than 30 in production (jose refetches an unknown kid at most every 30 s). Not applied to the keys found at startup.',
    600,
  )
  // Bounded, as every duration here, so a value in milliseconds (or a typo) is refused, not run for years.
  @IsIntInRange(2, 7 * 86400)
  signingKeysPublishLead!: number;

  @Env(
    'SIGNING_ALG',
    "Algorithm of the generated development key, and of RSA keys without their own `alg` (PEM, or JWK without it): PS256 if it says so, else RS256. EC and Ed25519 keys sign with their curve's algorithm; a key's own `alg` always wins. ES256, ES384, RS256, PS256, EdDSA.",
    'ES256',
  )
  @IsIn(SIGNING_ALGORITHMS)
  signingAlg!: SigningAlgorithm;

  @Env('TOKEN_TTL', 'Default lifetime of issued tokens, seconds (a client may set its own `token_ttl`).', 900)
  @IsIntInRange(1, 7 * 86400)
  tokenTtl!: number;

  @Env(
    'MAX_TOKEN_TTL',
    'Upper bound on any lifetime, seconds; client `token_ttl` values above it are refused at startup.',
    3600,
  )
  @IsIntInRange(1, 7 * 86400)
  maxTokenTtl!: number;

  @Env('MAX_CHAIN_DEPTH', 'Most actors an issued token may record in its nested `act` chain.', 5)
  @IsIntInRange(1, 32)
  maxChainDepth!: number;

  @Env('MAX_TARGETS', 'Most `audience` + `resource` values one request may name.', 5)
  @IsIntInRange(1)
  maxTargets!: number;

  @Env('CLOCK_SKEW', 'Clock skew tolerated on `exp`/`nbf`/`iat` of presented tokens and assertions, seconds.', 30)
  @IsIntInRange(0, 300)
  clockSkew!: number;

  @Env(
    'CLIENT_ASSERTION_MAX_LIFETIME',
    'private_key_jwt: longest accepted assertion lifetime (exp - now), seconds.',
    300,
  )
  @IsIntInRange(1)
  clientAssertionMaxLifetime!: number;

  @Env(
    'MAX_PRESENTED_TOKEN_LIFETIME',
    'Longest remaining lifetime (exp - now) accepted of a presented token (subject and actor tokens, ID-JAGs, jwt-bearer assertions), seconds; a trust anchor may set its own `max_token_lifetime`.',
    86400,
  )
  @IsIntInRange(1, 31536000)
  maxPresentedTokenLifetime!: number;

  @Env('MAX_BODY_BYTES', 'Largest accepted request body, bytes; larger bodies get 413.', 131072)
  @IsIntInRange(1024)
  maxBodyBytes!: number;

  @Env(
    'REQUEST_TIMEOUT_MS',
    'Longest time a client may take to send a whole request (headers and body), milliseconds; a slower one gets 408 and is disconnected.',
    10000,
  )
  @IsIntInRange(1000, 600000)
  requestTimeoutMs!: number;

  @Env(
    'HEADERS_TIMEOUT_MS',
    'Longest time a client may take to send the request headers, from connecting or from its first byte, milliseconds (at most REQUEST_TIMEOUT_MS); 408 past it.',
    5000,
  )
  @IsIntInRange(500, 600000)
  headersTimeoutMs!: number;

  @Env(
    'KEEP_ALIVE_TIMEOUT_MS',
    "How long an idle keep-alive connection is kept open for its next request, milliseconds. Behind a load balancer that reuses connections, set it above the balancer's idle timeout.",
    5000,
  )
  @IsIntInRange(100, 3600000)
  keepAliveTimeoutMs!: number;

  @Env(
    'MAX_CONNECTIONS_PER_ADDRESS',
    'Most open connections from one client IP address; more are closed at once. Counted by each worker process (`WORKERS`): up to this many per worker. 0: no limit (right behind a proxy, where every connection comes from its address).',
    0,
  )
  @IsIntInRange(0)
  maxConnectionsPerAddress!: number;

  @Env(
    'SHUTDOWN_TIMEOUT',
    "On SIGTERM or SIGINT: the longest the drain may take, seconds; requests still running a second before it are answered 503 temporarily_unavailable (audited). Keep it below the orchestrator's grace period (Kubernetes: 30 s).",
    20,
  )
  @IsIntInRange(1, 3600)
  shutdownTimeout!: number;

  @Env(
    'WORKERS',
    'Server processes sharing the port (node:cluster), 1–256. Over 1 needs REDIS_URL, SIGNING_KEYS and no per-process state (vault without DATABASE_URL, playground); unset: every core under `serve` when that holds, else 1.',
    undefined,
    'cores / 1 in dev',
  )
  @IsOptional()
  @IsIntInRange(1, 256)
  workers?: number;

  @Env(
    'UPSTREAM_TIMEOUT_MS',
    'Timeout of each discovery, JWKS or introspection request to a trust anchor, milliseconds (100–600000).',
    3000,
  )
  // Past 2^31-1 ms, AbortSignal.timeout would abort every fetch after 1 ms.
  @IsIntInRange(100, 600000)
  upstreamTimeoutMs!: number;

  @Env(
    'JWKS_COOLDOWN',
    'Least time between two fetches of one JWKS (unknown `kid`, failures), and between two attempts at a failing discovery, seconds.',
    30,
  )
  @IsIntInRange(0, 86400)
  jwksCooldown!: number;

  @Env(
    'VERIFIED_TOKEN_CACHE',
    'Presented JWTs (subject and actor tokens, jwt-bearer assertions and ID-JAGs) whose signature verified, remembered by SHA-256 with the key that verified it, so the same token from the same key is not verified again; every other check still runs. Count per process; 0: off.',
    10000,
  )
  @IsIntInRange(0, 1000000)
  verifiedTokenCache!: number;

  @Env('JWKS_MAX_AGE', 'Age after which a cached JWKS is refreshed in the background, seconds.', 600)
  @IsIntInRange(1, 7 * 86400)
  jwksMaxAge!: number;

  @Env(
    'JWKS_MAX_STALE',
    'How long cached keys keep working while their JWKS endpoint cannot be reached, seconds.',
    86400,
  )
  @IsIntInRange(0, 30 * 86400)
  jwksMaxStale!: number;

  @Env(
    'REDIS_URL',
    'Redis for state shared by several instances (single-use identifiers, revocations, token lineage); give it persistence (`appendonly yes`). Unset: in-process memory.',
  )
  @IsOptional()
  @Matches(/^rediss?:\/\//, { message: 'must be a redis:// or rediss:// URL' })
  @IsParsableUrl()
  redisUrl?: string;

  @Env(
    'DPOP_PROOF_MAX_AGE',
    'DPoP proofs (RFC 9449): oldest accepted `iat`, seconds (plus CLOCK_SKEW); also the lifetime window of server nonces.',
    300,
  )
  @IsIntInRange(5, 3600)
  dpopProofMaxAge!: number;

  @Env(
    'DPOP_NONCE',
    'DPoP server nonces (RFC 9449 §8): `off`, or `required` (proofs must carry a nonce from the `DPoP-Nonce` header).',
    'off',
  )
  @IsIn(['off', 'required'])
  dpopNonce!: 'off' | 'required';

  @Env(
    'AUDIT_LOG',
    'Where audit lines go: `stdout`, `stderr`, a file path (appended, reopened on SIGHUP), or a comma-separated pair of a stream and a file (`stdout,/var/log/actbridge/audit.log`). A line that cannot be written to the file fails its request with 503.',
    'stdout',
  )
  @IsNonEmptyString()
  auditLog!: string;

  @Env(
    'AUDIT_FORMAT',
    'Audit line format: `json` (one object per line) or `kv` (`<time> principal=... acting_as=... aud=... scope="..." ttl=600s jti=...`, docs/audit.md).',
    'json',
  )
  @IsIn(['json', 'kv'])
  auditFormat!: 'json' | 'kv';

  @Env('TLS_CERT_FILE', 'PEM certificate chain: with TLS_KEY_FILE, the STS listens with TLS (HTTPS) itself.')
  @IsOptional()
  @IsNonEmptyString()
  tlsCertFile?: string;

  @Env('TLS_KEY_FILE', 'PEM private key of TLS_CERT_FILE.')
  @IsOptional()
  @IsNonEmptyString()
  tlsKeyFile?: string;

  @Env(
    'TRUST_PROXY',
    'Reverse proxies whose `X-Forwarded-For` gives the client address (audit `client_ip`): comma-separated addresses or CIDRs, or `loopback`, `linklocal`, `uniquelocal`; never a /0 range (every caller). Unset: the socket peer is the client.',
  )
  @IsOptional()
  @IsTrustedProxyList()
  @IsNotEveryAddress()
  trustProxy?: string;

  @Env(
    'LOG_FORMAT',
    'Application log format (stderr): `json` (one object per line, ISO-8601 `time`, standard level names) or `text` (one coloured line per entry).',
    undefined,
    '`text` under `start-dev` or on a terminal, else `json`',
  )
  @IsOptional()
  @IsIn(['text', 'json'])
  logFormat?: 'text' | 'json';

  @Env(
    'LOG_LEVEL',
    'Least severe application log level: `fatal`, `error`, `warn`, `info` (`log` is accepted for it), `debug`, `trace`. The access log is at `info`.',
    'info',
  )
  @IsIn(LOG_LEVELS)
  logLevel!: LogLevelSetting;

  @Env(
    'MANAGEMENT_PORT',
    'TCP port of the management listener (`/metrics`, `/health/live`, `/health/ready`); 0 turns it off.',
    9000,
  )
  @IsIntInRange(0, MAX_PORT)
  managementPort!: number;

  @Env(
    'MANAGEMENT_HOST',
    'Interface of the management listener: an IP address or a host name. Loopback by default: expose it to the Prometheus scraper only.',
    '127.0.0.1',
  )
  @IsHostAddress()
  managementHost!: string;

  @Env(
    'REDIS_TIMEOUT_MS',
    'Bound on each replay-store command to Redis, milliseconds: past it the request fails closed (503) instead of waiting.',
    1000,
  )
  @IsIntInRange(50, 30000)
  redisTimeoutMs!: number;

  @Env(
    'REVOCATION_LIST_TTL',
    'Lifetime of each signed revocation list served to resource servers (`exp` - `iat`), seconds; it is re-signed after half of it. docs/lineage.md.',
    300,
  )
  @IsIntInRange(10, 3600)
  revocationListTtl!: number;

  @Env(
    'CASCADE_RESUME_INTERVAL',
    'How often each instance completes cascade revocations the store cut short (a walk marked pending for at least this long), seconds. docs/lineage.md.',
    10,
  )
  @IsIntInRange(1, 3600)
  cascadeResumeInterval!: number;

  @Env('ID_JAG_TTL', 'Default lifetime of issued ID-JAGs, seconds (a client may set its own `id_jag.ttl`).', 300)
  @IsIntInRange(1)
  idJagTtl!: number;

  @Env(
    'SAML_SP_ENTITY_ID',
    "actbridge's SAML entity ID. A SAML assertion's AudienceRestriction must name it, ISSUER or the token endpoint URL (RFC 7522 §3).",
    undefined,
    '$ISSUER',
  )
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z][A-Za-z0-9+.-]*:\S+$/, { message: 'must be an absolute URI' })
  samlSpEntityId?: string;

  @Env(
    'PLAYGROUND',
    'The playground page at `/playground` (docs/playground.md): `on` or `off`. In production only with an explicit `on`, which logs a warning.',
    undefined,
    '`on` under `start-dev`, else `off`',
  )
  @IsOptional()
  @IsIn(['on', 'off'])
  playground?: 'on' | 'off';

  @Env(
    'PLAYGROUND_PEER',
    "URL (issuer) of a second actbridge whose playground pairs with this one: this page redeems ID-JAGs there by default, and that page's origin may call this token endpoint from a browser (CORS, without credentials). Only with the playground on.",
  )
  @IsOptional()
  @IsSecureUrl()
  playgroundPeer?: string;

  @Env(
    'CONNECTIONS_DIR',
    'Token vault: directory of connection files (`*.yaml`), one per upstream provider (docs/token-vault.md). A missing default directory means no connections.',
    './connections',
  )
  @IsString()
  connectionsDir!: string;

  @Env(
    'DATABASE_URL',
    'Token vault: PostgreSQL (`postgres://user:pass@host:5432/db`) holding connected accounts, encrypted. Required in production when there are connections; unset under `start-dev`: in-process memory.',
  )
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\//, { message: 'must be a postgres:// or postgresql:// URL' })
  @IsParsableUrl()
  databaseUrl?: string;

  @Env(
    'VAULT_KEYS',
    'Token vault key-encryption keys: a JWK/JWKS JSON file (`kty: oct`, 256-bit), a directory of them, or the JSON itself. Required with DATABASE_URL; `npm run vault -- generate-key`.',
  )
  @IsOptional()
  @IsNonEmptyString()
  vaultKeys?: string;

  @Env('VAULT_KEY_ID', '`kid` of the active key-encryption key; required when VAULT_KEYS holds several.')
  @IsOptional()
  @IsNonEmptyString()
  vaultKeyId?: string;

  @Env(
    'VAULT_REFRESH_MARGIN',
    'Token vault: an upstream access token expiring within this many seconds is refreshed before it is handed out.',
    60,
  )
  @IsIntInRange(0, 3600)
  vaultRefreshMargin!: number;

  @Env('VAULT_CONNECT_TTL', 'Token vault: how long a started connect flow may take to complete, seconds.', 600)
  @IsIntInRange(60, 3600)
  vaultConnectTtl!: number;
}

export function envSettingsDoc(): readonly EnvSettingDoc[] {
  return ENV_SETTINGS;
}

/**
 * Reads ServerConfig from an environment. Numbers are parsed strictly ("12abc" stays a string and is
 * reported as not an integer) so a typo never silently becomes a default.
 */
export function loadServerConfig(
  env: Readonly<Record<string, string | undefined>>,
  mode: RunMode = 'production',
): ServerConfig {
  const plain: Record<string, unknown> = {};
  const numeric = new Set(
    ENV_SETTINGS.filter((s) => Reflect.getMetadata('design:type', ServerConfig.prototype, s.property) === Number).map(
      (s) => s.property,
    ),
  );
  for (const setting of ENV_SETTINGS) {
    const raw = env[setting.env];
    const value = raw === undefined || raw === '' ? DEFAULTS.get(setting.property) : raw;
    if (value === undefined) continue;
    plain[setting.property] =
      numeric.has(setting.property) && typeof value === 'string' && /^-?\d+$/.test(value.trim())
        ? Number(value.trim())
        : value;
  }
  if (plain.issuer === undefined) {
    // Without ISSUER, tokens name localhost: right for a loopback listener, a silent mistake for any other.
    // A HOST that is no address is refused on its own line, not as a missing ISSUER.
    if (mode === 'production' && isHostAddress(plain.host) && !isLoopbackHost(plain.host as string)) {
      throw new ConfigError(
        `environment: ISSUER: required when HOST (${plain.host}) is not a loopback address; tokens would name http://localhost as their issuer`,
      );
    }
    if (mode === 'production' && plain.port === 0) {
      throw new ConfigError(
        'environment: ISSUER: required when PORT is 0 (a port chosen at listen); tokens would name http://localhost:0 as their issuer',
      );
    }
    // A PORT out of range is refused on its own line; the issuer derived from it must not add a second.
    const port =
      typeof plain.port === 'number' && plain.port >= 0 && plain.port <= MAX_PORT ? plain.port : DEFAULTS.get('port');
    plain.issuer = `${plain.tlsCertFile === undefined ? 'http' : 'https'}://localhost:${String(port)}`;
  }
  const byProperty = new Map(ENV_SETTINGS.map((s) => [s.property, s.env]));
  const config = validateConfig(ServerConfig, plain, 'environment', (path) => byProperty.get(path) ?? path);
  if ((config.tlsCertFile === undefined) !== (config.tlsKeyFile === undefined)) {
    throw new ConfigError('environment: TLS_CERT_FILE and TLS_KEY_FILE: set both, or neither');
  }
  return config;
}

/** Every environment variable actbridge reads. */
export function envSettingNames(): string[] {
  return ENV_SETTINGS.map((s) => s.env);
}

/** The validated server settings (injection token). */
export const SERVER_CONFIG = Symbol('SERVER_CONFIG');
