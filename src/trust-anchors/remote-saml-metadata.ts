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
    const metadata = await this.document.current();
    if (!metadata) {
      const reason = this.document.lastError;
      throw new KeysUnavailableError(`${UNAVAILABLE}${reason ? `: ${reason}` : ''}`, UNAVAILABLE);
    }
    return unexpiredCertificates(metadata, Math.floor(this.now() / 1000));
  }

  usable(): boolean {
    return this.document.usable();
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
  if (validUntil !== undefined && validUntil <= now) {
    throw new KeysUnavailableError(
      `IdP metadata expired at ${new Date(validUntil * 1000).toISOString()} (validUntil)`,
      'IdP metadata expired',
    );
  }
  return certificates;
}
