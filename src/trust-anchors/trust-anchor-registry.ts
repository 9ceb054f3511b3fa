import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { STS_CONFIG, type LoadedTrustAnchor, type StsConfig } from '../config/sts-config.js';
import { KeyService } from '../keys/key-service.js';
import { discoverJwksUri } from './oidc-discovery.js';
import { RemoteJwks, remoteJwksPolicy, type RemoteJwksPolicy } from './remote-jwks.js';
import type { TrustAnchor } from './trust-anchor.js';
import { DEFAULT_ANCHOR_ALGORITHMS } from './trust-anchor.config.js';

/** The trusted issuers, looked up by exact `iss`. */
@Injectable()
export class TrustAnchorRegistry implements OnApplicationBootstrap {
  private readonly logger = new Logger('TrustAnchors');
  private readonly byIssuer = new Map<string, TrustAnchor>();
  private readonly remote: Array<{ name: string; jwks: RemoteJwks }> = [];

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
      developmentOnly: false,
      keys: keys.verificationKeys,
      self: true,
    });
    for (const anchor of config.anchors) {
      if (anchor.config.development_only && !keys.ephemeral) {
        this.logger.warn(`ignoring ${anchor.file}: development_only, and SIGNING_KEYS is configured`);
        continue;
      }
      this.byIssuer.set(anchor.config.issuer, this.build(anchor, policy, server.clockSkew));
    }
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

  private build(anchor: LoadedTrustAnchor, policy: RemoteJwksPolicy, defaultSkew: number): TrustAnchor {
    const { config, name } = anchor;
    return {
      name,
      issuer: config.issuer,
      audiences: config.audiences,
      algorithms: config.algorithms ?? DEFAULT_ANCHOR_ALGORITHMS,
      accessTokenTyp: config.access_token_typ,
      trustedForChains: config.trusted_for_chains,
      clockSkew: config.clock_skew ?? defaultSkew,
      maxTokenAge: config.max_token_age,
      developmentOnly: config.development_only,
      keys: config.jwks ? createLocalJWKSet(config.jwks as JSONWebKeySet) : this.remoteKeys(anchor, policy),
      self: false,
      attestation: config.attestation,
    };
  }

  private remoteKeys(anchor: LoadedTrustAnchor, policy: RemoteJwksPolicy): RemoteJwks['getKey'] {
    const { config, name } = anchor;
    let located: URL | undefined = config.jwks_uri ? new URL(config.jwks_uri) : undefined;
    const locate = async (): Promise<URL> => {
      // Discovery runs until it first succeeds; RemoteJwks's cooldown paces the retries.
      located ??= await discoverJwksUri(config.issuer, config.discovery ?? 'oidc', policy.timeoutMs);
      return located;
    };
    const jwks = new RemoteJwks(locate, policy, name);
    this.remote.push({ name, jwks });
    return jwks.getKey;
  }
}
