import { Logger } from '@nestjs/common';
import { isDeepStrictEqual } from 'node:util';
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import type { ServerMetadata } from 'openid-client';
import type { RunMode } from '../config/run-mode.js';
import type { ServerConfig } from '../config/server-config.js';
import { Slot } from '../config/live-config.js';
import { clock } from '../common/clock.js';
import type { PublishedKeys } from '../keys/published-keys.js';
import { TOKEN_TYPE_NAMES, TokenTypes } from '../oauth/token-types.js';
import type { LoadedTrustAnchor } from './anchor-loader.js';
import { introspectionEndpointOf, jwksUriOf, pacedDiscovery } from './oidc-discovery.js';
import { RemoteJwks, remoteJwksPolicy, type RemoteJwksPolicy } from './remote-jwks.js';
import { RemoteSamlMetadata, unexpiredCertificates } from './remote-saml-metadata.js';
import type { RemoteFetchObserver } from '../observability/metrics.js';
import { TokenIntrospector } from './token-introspector.js';
import type { JwtTrustAnchor, SamlTrustAnchor, TrustAnchor } from './trust-anchor.js';
import { DEFAULT_ANCHOR_ALGORITHMS } from './trust-anchor.config.js';

/** A runtime anchor and the file it was built from (to keep it, and its caches, when the file is unchanged). */
interface BuiltAnchor {
  readonly file: LoadedTrustAnchor;
  readonly anchor: TrustAnchor;
}

/**
 * The trusted issuers of one configuration, one runtime object per anchor file (plus actbridge itself),
 * indexed once when the configuration is loaded: by exact `iss` (JWT issuers) or entity ID (SAML IdPs),
 * the two namespaces never answering for each other.
 */
export class AnchorIndex {
  readonly jwtIssuers = new Map<string, JwtTrustAnchor>();
  readonly samlIdps = new Map<string, SamlTrustAnchor>();
  /** client_id → the one anchor whose opaque access tokens that client may present (introspection.clients). */
  readonly introspectingFor = new Map<string, JwtTrustAnchor>();
  /** Anchor name → its runtime object and file. */
  readonly byName = new Map<string, BuiltAnchor>();
  /** The runtime anchors built for this index (not kept from the previous one): they need a warm-up. */
  readonly created: TrustAnchor[] = [];
  private readonly policy: RemoteJwksPolicy;

  /**
   * Builds the anchors of `files`; an anchor whose file is unchanged since `previous` is kept as it was,
   * with its fetched keys and caches.
   */
  constructor(
    private readonly server: ServerConfig,
    mode: RunMode,
    files: readonly LoadedTrustAnchor[],
    keys: Pick<PublishedKeys, 'algorithms' | 'verificationKeys'>,
    previous?: AnchorIndex,
    observer?: RemoteFetchObserver,
  ) {
    this.policy = { ...remoteJwksPolicy(server), ...(observer ? { observer } : {}) };
    this.jwtIssuers.set(server.issuer, selfAnchor(server, keys));
    for (const file of files) {
      // The loader refuses these in production; never trust one there, whatever the caller.
      if (file.config.development_only && mode !== 'development') continue;
      const kept = previous?.byName.get(file.name);
      const anchor = kept && sameFile(kept.file, file) ? kept.anchor : this.build(file);
      if (anchor !== kept?.anchor) this.created.push(anchor);
      this.byName.set(file.name, { file, anchor });
      if (anchor.kind === 'saml') {
        this.samlIdps.set(anchor.entityId, anchor);
        continue;
      }
      this.jwtIssuers.set(anchor.issuer, anchor);
      // The loader guarantees a client is bound to at most one introspecting anchor.
      for (const clientId of file.config.introspection?.clients ?? []) this.introspectingFor.set(clientId, anchor);
    }
  }

  /** Every anchor, actbridge's own first. */
  get anchors(): TrustAnchor[] {
    return [...this.jwtIssuers.values(), ...this.samlIdps.values()];
  }

  /** Logs and fetches the remote keys of `anchors` in the background; never blocks. */
  static warmUp(anchors: readonly TrustAnchor[], logger = new Logger('TrustAnchors')): void {
    for (const anchor of anchors) {
      if (anchor.self) continue;
      const what = anchor.kind === 'saml' ? 'SAML IdP ' : '';
      logger.log(
        `trusting ${what}${anchor.name}: ${anchor.issuer}${anchor.developmentOnly ? ' (development only)' : ''}`,
      );
      void anchor.warmUp();
    }
  }

  private build(file: LoadedTrustAnchor): TrustAnchor {
    return file.config.kind === 'saml' ? this.samlAnchor(file) : this.jwtAnchor(file);
  }

  private jwtAnchor(file: LoadedTrustAnchor): JwtTrustAnchor {
    const { config, name } = file;
    const timeoutMs = this.server.upstreamTimeoutMs;
    // One discovery document per anchor serves both its jwks_uri and its introspection_endpoint;
    // retried at most once per JWKS_COOLDOWN until it first succeeds.
    const discover = pacedDiscovery(
      config.issuer,
      config.discovery ?? 'oidc',
      timeoutMs,
      this.policy.cooldownSec * 1000,
    );
    const remote = config.jwks ? undefined : this.remoteKeys(file, discover);
    const introspection = this.introspector(file, discover, timeoutMs);
    return {
      kind: 'jwt',
      name,
      issuer: config.issuer,
      audiences: config.audiences,
      algorithms: config.algorithms ?? DEFAULT_ANCHOR_ALGORITHMS,
      accessTokenTyp: config.access_token_typ,
      trustedForChains: config.trusted_for_chains,
      clockSkew: config.clock_skew ?? this.server.clockSkew,
      maxTokenAge: config.max_token_age,
      maxTokenLifetime: config.max_token_lifetime ?? this.server.maxPresentedTokenLifetime,
      developmentOnly: config.development_only,
      keys: remote ? remote.getKey : createLocalJWKSet(config.jwks as JSONWebKeySet),
      // An anchor for opaque tokens only is usable through its introspection endpoint.
      usable: () => (remote ? remote.usable() : true) || introspection !== undefined,
      warmUp: async () => remote?.warmUp(),
      self: false,
      // An `id_jag:` section is the opt-in to this issuer's ID-JAGs: it implies the id-jag token type.
      tokenTypes: [...new Set([...config.token_types, ...(config.id_jag ? ['id-jag'] : [])])].map(
        (type) => TOKEN_TYPE_NAMES[type]!,
      ),
      clientIds: new Map(
        Object.entries(config.client_ids).map(([ours, theirs]) => [
          ours,
          typeof theirs === 'string' ? [theirs] : theirs,
        ]),
      ),
      introspection,
      attestation: config.attestation,
      policy: file.policy,
      jwtBearer: config.jwt_bearer,
      idJag: config.id_jag,
    };
  }

  private samlAnchor(file: LoadedTrustAnchor): SamlTrustAnchor {
    const { config, name } = file;
    const saml = config.saml!;
    let certificates: () => Promise<readonly string[]>;
    let usable: () => boolean;
    let warmUp: () => Promise<void> = async () => undefined;
    if (saml.metadata_url !== undefined) {
      const remote = new RemoteSamlMetadata(new URL(saml.metadata_url), config.issuer, this.policy, name);
      certificates = () => remote.certificates();
      usable = () => remote.usable();
      warmUp = () => remote.warmUp();
    } else {
      const metadata = {
        certificates: Object.freeze([...saml.resolvedCertificates!]) as string[],
        validUntil: saml.resolvedValidUntil,
      };
      certificates = async () => unexpiredCertificates(metadata, clock.seconds());
      usable = () => metadata.validUntil === undefined || metadata.validUntil > clock.seconds();
    }
    return {
      kind: 'saml',
      name,
      issuer: config.issuer,
      entityId: config.issuer,
      clockSkew: config.clock_skew ?? this.server.clockSkew,
      developmentOnly: config.development_only,
      trustedForChains: false,
      attestation: config.attestation,
      policy: file.policy,
      self: false,
      allowUnsignedAssertionInSignedResponse: saml.allow_unsigned_assertion_in_signed_response,
      canonicalization: saml.canonicalization,
      maxAssertionLifetime: saml.max_assertion_lifetime,
      attributeRenames: new Map(
        Object.entries(saml.attributes ?? {}).map(([friendly, attrName]) => [attrName, friendly]),
      ),
      attributeClaims: new Map(Object.entries(saml.attributes ?? {})),
      certificates,
      usable,
      warmUp,
    };
  }

  private introspector(
    file: LoadedTrustAnchor,
    discover: () => Promise<ServerMetadata>,
    timeoutMs: number,
  ): TokenIntrospector | undefined {
    const { config, name, introspectionSecret } = file;
    const settings = config.introspection;
    if (!settings || !introspectionSecret) return undefined;
    const configured = settings.endpoint ? new URL(settings.endpoint) : undefined;
    return new TokenIntrospector({
      name,
      issuer: config.issuer,
      locate: async () => configured ?? introspectionEndpointOf(await discover()),
      clientId: settings.client_id,
      secret: introspectionSecret,
      authMethod: settings.auth_method,
      cacheTtlSec: settings.cache_ttl,
      requireTokenType: settings.require_token_type,
      timeoutMs,
    });
  }

  private remoteKeys(file: LoadedTrustAnchor, discover: () => Promise<ServerMetadata>): RemoteJwks {
    let located: URL | undefined = file.config.jwks_uri ? new URL(file.config.jwks_uri) : undefined;
    const locate = async (): Promise<URL> => {
      // Discovery runs until it first succeeds; RemoteJwks's cooldown paces the retries.
      located ??= jwksUriOf(await discover());
      return located;
    };
    return new RemoteJwks(locate, this.policy, file.name);
  }
}

/** actbridge's own tokens come back as subject tokens in delegation chains. */
/** The name of actbridge's own issuer among the anchors (tokens it issued, presented again). */
export const SELF_ANCHOR_NAME = 'actbridge';

function selfAnchor(
  server: ServerConfig,
  keys: Pick<PublishedKeys, 'algorithms' | 'verificationKeys'>,
): JwtTrustAnchor {
  return {
    kind: 'jwt',
    name: SELF_ANCHOR_NAME,
    issuer: server.issuer,
    audiences: [server.issuer],
    algorithms: keys.algorithms,
    accessTokenTyp: ['at+jwt'],
    trustedForChains: true,
    clockSkew: server.clockSkew,
    maxTokenAge: undefined,
    maxTokenLifetime: server.maxPresentedTokenLifetime,
    developmentOnly: false,
    keys: keys.verificationKeys,
    usable: () => true,
    warmUp: async () => undefined,
    self: true,
    // actbridge issues RFC 9068 access tokens, requested as access_token or jwt; never ID tokens.
    tokenTypes: [TokenTypes.accessToken, TokenTypes.jwt],
    clientIds: new Map(),
  };
}

/** The same anchor file: same path, same validated content, same introspection secret. */
function sameFile(a: LoadedTrustAnchor, b: LoadedTrustAnchor): boolean {
  return (
    a.file === b.file &&
    isDeepStrictEqual(JSON.parse(JSON.stringify(a.config)), JSON.parse(JSON.stringify(b.config))) &&
    a.introspectionSecret?.reveal() === b.introspectionSecret?.reveal()
  );
}

/** The trust anchors in the configuration generation in force. */
export const ANCHORS = new Slot<AnchorIndex>('anchors');
