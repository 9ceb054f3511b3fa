import { Gauge, type Registry } from 'prom-client';
import type { ConfiguredValues } from './metric-labels.js';
import type { CertificateFacts, RemoteDocumentKind, SigningKeyFacts } from './metrics.js';

/** Where the gauges computed at scrape time read from. */
export interface ScrapeSources {
  readonly keySets: () => Iterable<[string, RemoteDocumentKind, () => number | undefined]>;
  readonly anchors: ConfiguredValues;
  readonly signingKeys: () => readonly SigningKeyFacts[];
  readonly certificates: () => Promise<readonly CertificateFacts[]>;
}

/** Gauges of state rather than events: set from their sources on each scrape, nothing on the hot path. */
export function createScrapeGauges(registry: Registry, sources: ScrapeSources): void {
  const registers = [registry];
  new Gauge({
    name: 'actbridge_remote_key_set_age_seconds',
    help: 'Age of the cached remote key set (JWKS, SAML metadata) of each trust anchor; absent while none is cached.',
    labelNames: ['anchor', 'document'],
    registers,
    aggregator: 'max', // with workers: the stalest cache of any worker
    collect() {
      this.reset();
      for (const [anchor, document, age] of sources.keySets()) {
        const seconds = age();
        if (seconds !== undefined) this.labels(sources.anchors.label(anchor), document).set(seconds);
      }
    },
  });
  new Gauge({
    name: 'actbridge_signing_key_age_seconds',
    help: "Age of each published signing key (since its JWK's iat, else since this process loaded it), by kid and state.",
    labelNames: ['kid', 'state'],
    registers,
    aggregator: 'max', // with workers: each worker reads the same key directory
    collect() {
      this.reset();
      for (const key of sources.signingKeys()) this.labels(key.kid, key.state).set(key.ageSeconds);
    },
  });
  new Gauge({
    name: 'actbridge_saml_certificate_expiry_timestamp_seconds',
    help: 'notAfter of each signing certificate a SAML trust anchor trusts, Unix seconds (days to expiry: (value - time()) / 86400).',
    labelNames: ['anchor', 'certificate'],
    registers,
    aggregator: 'min', // with workers: the earliest expiry any worker trusts
    async collect() {
      this.reset();
      for (const cert of await sources.certificates()) {
        this.labels(sources.anchors.label(cert.anchor), cert.certificate).set(cert.notAfterSeconds);
      }
    },
  });
}
