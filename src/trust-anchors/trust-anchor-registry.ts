import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { STS_CONFIG, type LoadedTrustAnchor, type StsConfig } from '../config/sts-config.js';
import { KeyService } from '../keys/key-service.js';
import type { ServerMetadata } from 'openid-client';
import { TOKEN_TYPE_NAMES, TokenTypes } from '../oauth/token-types.js';
import { discoverServerMetadata, introspectionEndpointOf, jwksUriOf } from './oidc-discovery.js';
import { RemoteJwks, remoteJwksPolicy, type RemoteJwksPolicy } from './remote-jwks.js';
import { TokenIntrospector } from './token-introspector.js';
import type { TrustAnchor } from './trust-anchor.js';
import { DEFAULT_ANCHOR_ALGORITHMS } from './trust-anchor.config.js';

/** The trusted issuers, looked up by exact `iss`. */
@Injectable()
export class TrustAnchorRegistry implements OnApplicationBootstrap {
  private readonly logger = new Logger('TrustAnchors');
  private readonly byIssuer = new Map<string, TrustAnchor>();
  private readonly remote: Array<{ name: string; jwks: RemoteJwks }> = [];
  /** client_id → the one anchor whose opaque access tokens that client may present (introspection.clients). */
  private readonly introspectingFor = new Map<string, TrustAnchor>();

  constructor(@Inject(STS_CONFIG) config: StsConfig, keys: KeyService) {
    const { server } = config;
    const policy = remoteJwksPolicy(server);
    // actbridge's own tokens come back as subject tokens in delegation chains.
    this.byIssuer.set(server.issuer, {
      name: 'actbridge',
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
    });
    for (const anchor of config.anchors) {
      if (anchor.config.kind === 'saml') continue; // SAML IdPs: SamlAnchorRegistry
      // loadStsConfig refuses these in production; never trust one there, whatever the caller.
      if (anchor.config.development_only && config.mode !== 'development') continue;
      const built = this.build(anchor, policy, server);
      this.byIssuer.set(anchor.config.issuer, built);
      // The loader guarantees a client is bound to at most one introspecting anchor.
      for (const clientId of anchor.config.introspection?.clients ?? []) this.introspectingFor.set(clientId, built);
    }
  }

  /**
   * The anchor that introspects opaque access tokens presented by this client, if any. An opaque token
   * names no issuer: the presenting client's binding is the only thing that routes it, so it is never
   * sent to more than this one endpoint.
   */
  introspectingAnchorFor(clientId: string): TrustAnchor | undefined {
    return this.introspectingFor.get(clientId);
  }

  /** The anchor vouching for `issuer`, or undefined when the issuer is not trusted. */
  find(issuer: string): TrustAnchor | undefined {
    return this.byIssuer.get(issuer);
  }

  get anchors(): TrustAnchor[] {
    return [...this.byIssuer.values()];
  }

  /** Fetches remote keys in the background so the first exchange does not wait; never blocks startup. */
  onApplicationBootstrap(): void {
    for (const anchor of this.byIssuer.values()) {
      if (!anchor.self)
        this.logger.log(
          `trusting ${anchor.name}: ${anchor.issuer}${anchor.developmentOnly ? ' (development only)' : ''}`,
        );
    }
    for (const { jwks } of this.remote) void jwks.warmUp();
  }

  private build(anchor: LoadedTrustAnchor, policy: RemoteJwksPolicy, server: StsConfig['server']): TrustAnchor {
    const { config, name } = anchor;
    const timeoutMs = server.upstreamTimeoutMs;
    // One discovery document per anchor serves both its jwks_uri and its introspection_endpoint;
    // retried (paced by the callers) until it first succeeds.
    let metadata: Promise<ServerMetadata> | undefined;
    const discover = (): Promise<ServerMetadata> => {
      metadata ??= discoverServerMetadata(config.issuer, config.discovery ?? 'oidc', timeoutMs).catch(
        (error: unknown) => {
          metadata = undefined;
          throw error;
        },
      );
      return metadata;
    };
    const remote = config.jwks ? undefined : this.remoteKeys(anchor, policy, discover);
    const introspection = this.introspector(anchor, discover, timeoutMs);
    return {
      name,
      issuer: config.issuer,
      audiences: config.audiences,
      algorithms: config.algorithms ?? DEFAULT_ANCHOR_ALGORITHMS,
      accessTokenTyp: config.access_token_typ,
      trustedForChains: config.trusted_for_chains,
      clockSkew: config.clock_skew ?? server.clockSkew,
      maxTokenAge: config.max_token_age,
      maxTokenLifetime: config.max_token_lifetime ?? server.maxPresentedTokenLifetime,
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
    };
  }

  private introspector(
    anchor: LoadedTrustAnchor,
    discover: () => Promise<ServerMetadata>,
    timeoutMs: number,
  ): TokenIntrospector | undefined {
    const { config, name, introspectionSecret } = anchor;
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

  private remoteKeys(
    anchor: LoadedTrustAnchor,
    policy: RemoteJwksPolicy,
    discover: () => Promise<ServerMetadata>,
  ): RemoteJwks {
    const { config, name } = anchor;
    let located: URL | undefined = config.jwks_uri ? new URL(config.jwks_uri) : undefined;
    const locate = async (): Promise<URL> => {
      // Discovery runs until it first succeeds; RemoteJwks's cooldown paces the retries.
      located ??= jwksUriOf(await discover());
      return located;
    };
    const jwks = new RemoteJwks(locate, policy, name);
    this.remote.push({ name, jwks });
    return jwks;
  }
}
