import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { STS_CONFIG, type LoadedTrustAnchor, type StsConfig } from '../config/sts-config.js';
import { remoteJwksPolicy, type RemoteJwksPolicy } from './remote-jwks.js';
import { RemoteSamlMetadata } from './remote-saml-metadata.js';
import type { SamlAnchor } from './saml-anchor.js';

/** The trusted SAML IdPs (`kind: saml` anchors), looked up by exact entity ID. */
@Injectable()
export class SamlAnchorRegistry implements OnApplicationBootstrap {
  private readonly logger = new Logger('TrustAnchors');
  private readonly byEntityId = new Map<string, SamlAnchor>();
  private readonly remote: RemoteSamlMetadata[] = [];

  constructor(@Inject(STS_CONFIG) config: StsConfig) {
    const policy = remoteJwksPolicy(config.server);
    for (const anchor of config.anchors) {
      if (anchor.config.kind !== 'saml') continue;
      // loadStsConfig refuses these in production; never trust one there, whatever the caller.
      if (anchor.config.development_only && config.mode !== 'development') continue;
      this.byEntityId.set(anchor.config.issuer, this.build(anchor, policy, config.server.clockSkew));
    }
  }

  /** The anchor for IdP `entityId`, or undefined when it is not trusted. */
  find(entityId: string): SamlAnchor | undefined {
    return this.byEntityId.get(entityId);
  }

  get anchors(): SamlAnchor[] {
    return [...this.byEntityId.values()];
  }

  onApplicationBootstrap(): void {
    for (const anchor of this.byEntityId.values()) {
      this.logger.log(
        `trusting SAML IdP ${anchor.name}: ${anchor.entityId}${anchor.developmentOnly ? ' (development only)' : ''}`,
      );
    }
    for (const metadata of this.remote) void metadata.warmUp();
  }

  private build(anchor: LoadedTrustAnchor, policy: RemoteJwksPolicy, defaultSkew: number): SamlAnchor {
    const { config, name } = anchor;
    const saml = config.saml!;
    let certificates: () => Promise<readonly string[]>;
    let usable: () => boolean;
    let warmUp: () => Promise<void> = async () => undefined;
    if (saml.metadata_url !== undefined) {
      const remote = new RemoteSamlMetadata(new URL(saml.metadata_url), config.issuer, policy, name);
      this.remote.push(remote);
      certificates = () => remote.certificates();
      usable = () => remote.usable();
      warmUp = () => remote.warmUp();
    } else {
      const pems = Object.freeze([...saml.resolvedCertificates!]);
      certificates = async () => pems;
      usable = () => true;
    }
    return {
      name,
      entityId: config.issuer,
      clockSkew: config.clock_skew ?? defaultSkew,
      developmentOnly: config.development_only,
      allowUnsignedAssertionInSignedResponse: saml.allow_unsigned_assertion_in_signed_response,
      canonicalization: saml.canonicalization,
      maxAssertionLifetime: saml.max_assertion_lifetime,
      attributeRenames: new Map(
        Object.entries(saml.attributes ?? {}).map(([friendly, attrName]) => [attrName, friendly]),
      ),
      certificates,
      usable,
      warmUp,
    };
  }
}
