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

/** One gauge of state: its name, help and label names, and how workers' values combine. */
interface StateGauge {
  readonly name: string;
  readonly help: string;
  readonly labelNames: string[];
  readonly aggregator: 'min' | 'max';
}

/** A series to set: its label values (in `labelNames` order) and its value. */
type Reading = [labels: string[], value: number];

/** Gauges of state rather than events: set from their sources on each scrape, nothing on the hot path. */
export function createScrapeGauges(registry: Registry, sources: ScrapeSources): void {
  /** `gauge`, emptied at each scrape and set again from what `read` finds now (synchronously when it can). */
  const register = (gauge: StateGauge, read: () => Iterable<Reading> | Promise<Iterable<Reading>>) =>
    new Gauge({
      ...gauge,
      registers: [registry],
      collect() {
        this.reset();
        const set = (readings: Iterable<Reading>) => {
          for (const [labels, value] of readings) this.labels(...labels).set(value);
        };
        const readings = read();
        return readings instanceof Promise ? readings.then(set) : set(readings);
      },
    });
  register(
    {
      name: 'actbridge_remote_key_set_age_seconds',
      help: 'Age of the cached remote key set (JWKS, SAML metadata) of each trust anchor; absent while none is cached.',
      labelNames: ['anchor', 'document'],
      aggregator: 'max', // with workers: the stalest cache of any worker
    },
    function* () {
      for (const [anchor, document, age] of sources.keySets()) {
        const seconds = age();
        if (seconds !== undefined) yield [[sources.anchors.label(anchor), document], seconds];
      }
    },
  );
  register(
    {
      name: 'actbridge_signing_key_age_seconds',
      help: "Age of each published signing key (since its JWK's iat, else since this process loaded it), by kid and state.",
      labelNames: ['kid', 'state'],
      aggregator: 'max', // with workers: each worker reads the same key directory
    },
    () => sources.signingKeys().map((key) => [[key.kid, key.state], key.ageSeconds]),
  );
  register(
    {
      name: 'actbridge_saml_certificate_expiry_timestamp_seconds',
      help: 'notAfter of each signing certificate a SAML trust anchor trusts, Unix seconds (days to expiry: (value - time()) / 86400).',
      labelNames: ['anchor', 'certificate'],
      aggregator: 'min', // with workers: the earliest expiry any worker trusts
    },
    async () =>
      (await sources.certificates()).map((cert) => [
        [sources.anchors.label(cert.anchor), cert.certificate],
        cert.notAfterSeconds,
      ]),
  );
}
