import { clock } from '../common/clock.js';
import { idpMetadata, type IdpMetadata } from '../saml/saml-certificates.js';
import { RemoteDocument } from './remote-document.js';
import { KeysUnavailableError, type RemoteJwksPolicy } from './remote-jwks.js';

const UNAVAILABLE = 'IdP metadata unavailable';

/**
 * A SAML IdP's signing certificates from its metadata URL, cached like a JWKS (RemoteDocument). A
 * document that does not parse, or names another entityID, counts as a failed fetch.
 */
export class RemoteSamlMetadata {
  private readonly document: RemoteDocument<IdpMetadata>;

  constructor(
    url: URL,
    entityId: string,
    policy: RemoteJwksPolicy,
    name: string,
    private readonly now: () => number = clock.ms,
  ) {
    this.document = new RemoteDocument(
      {
        name: 'IdP metadata',
        kind: 'saml_metadata',
        accept: 'application/samlmetadata+xml, application/xml, text/xml',
        maxBytes: 1024 * 1024,
      },
      async () => url,
      (body) => idpMetadata(body.toString('utf8'), entityId, Math.floor(now() / 1000)),
      policy,
      name,
      now,
    );
  }

  /** The IdP's signing certificates (PEM); throws KeysUnavailableError when none are usable. */
  async certificates(): Promise<readonly string[]> {
    let metadata = await this.document.current();
    // Past its validUntil, the copy held is fetched again at once (outside the cooldown) rather than at
    // maxAge: the publisher's newer metadata is used as soon as it is there.
    if (metadata && expired(metadata, this.seconds())) metadata = (await this.document.newerThan(metadata)) ?? metadata;
    if (!metadata) {
      const reason = this.document.lastError;
      throw new KeysUnavailableError(`${UNAVAILABLE}${reason ? `: ${reason}` : ''}`, UNAVAILABLE);
    }
    return unexpiredCertificates(metadata, this.seconds());
  }

  /** A copy young enough and not past its validUntil (readiness; an unusable anchor is fetched again). */
  usable(): boolean {
    const metadata = this.document.cached;
    return metadata !== undefined && !expired(metadata, this.seconds());
  }

  private seconds(): number {
    return Math.floor(this.now() / 1000);
  }

  warmUp(): Promise<void> {
    return this.document.warmUp();
  }
}

/**
 * The certificates of metadata read while valid, as long as it still is: SAML Metadata §2.3.1, a copy
 * held past its validUntil (a file read at startup, a fetched copy kept until its refresh) no longer
 * vouches for them. `now` in epoch seconds.
 */
export function unexpiredCertificates(metadata: IdpMetadata, now: number): readonly string[] {
  const { certificates, validUntil } = metadata;
  if (validUntil !== undefined && expired(metadata, now)) {
    throw new KeysUnavailableError(
      `IdP metadata expired at ${new Date(validUntil * 1000).toISOString()} (validUntil)`,
      'IdP metadata expired',
    );
  }
  return certificates;
}

function expired({ validUntil }: IdpMetadata, now: number): boolean {
  return validUntil !== undefined && validUntil <= now;
}
