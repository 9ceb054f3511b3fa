import { clock } from '../common/clock.js';
import { certificatesFromMetadata } from '../saml/saml-certificates.js';
import { RemoteDocument } from './remote-document.js';
import { KeysUnavailableError, type RemoteJwksPolicy } from './remote-jwks.js';

const UNAVAILABLE = 'IdP metadata unavailable';

/**
 * A SAML IdP's signing certificates from its metadata URL, cached like a JWKS (RemoteDocument). A
 * document that does not parse, or names another entityID, counts as a failed fetch.
 */
export class RemoteSamlMetadata {
  private readonly document: RemoteDocument<string[]>;

  constructor(url: URL, entityId: string, policy: RemoteJwksPolicy, name: string, now: () => number = clock.ms) {
    this.document = new RemoteDocument(
      {
        name: 'IdP metadata',
        kind: 'saml_metadata',
        accept: 'application/samlmetadata+xml, application/xml, text/xml',
        maxBytes: 1024 * 1024,
      },
      async () => url,
      (body) => certificatesFromMetadata(body.toString('utf8'), entityId),
      policy,
      name,
      now,
    );
  }

  /** The IdP's signing certificates (PEM); throws KeysUnavailableError when none are usable. */
  async certificates(): Promise<readonly string[]> {
    const certs = await this.document.current();
    if (!certs) {
      const reason = this.document.lastError;
      throw new KeysUnavailableError(`${UNAVAILABLE}${reason ? `: ${reason}` : ''}`, UNAVAILABLE);
    }
    return certs;
  }

  usable(): boolean {
    return this.document.usable();
  }

  warmUp(): Promise<void> {
    return this.document.warmUp();
  }
}
