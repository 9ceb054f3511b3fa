import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { createScrapeGauges } from './scrape-gauges.js';
import {
  ChildCache,
  ConfiguredValues,
  errorLabel,
  GRANT_LABEL_VALUES,
  grantLabel,
  NONE,
  tokenTypeLabel,
  UPSTREAM_TOKEN_LABEL,
  vaultEventLabel,
  vaultOutcomeLabel,
} from './metric-labels.js';

/** Injection token of the application's Metrics. */
export const METRICS = Symbol('METRICS');

/** The stage of a token request that refused it (metrics label, audit `step`). */
export type RefusalStep =
  'request' | 'client_authentication' | 'dpop' | 'token_validation' | 'grant' | 'policy' | 'signing' | 'audit';

/** Which remote key document: an anchor's JWKS or a SAML IdP's metadata. */
export type RemoteDocumentKind = 'jwks' | 'saml_metadata';

/** Reports fetches of remote key documents (trust-anchors/remote-document.ts calls it). */
export interface RemoteFetchObserver {
  fetched(anchor: string, document: RemoteDocumentKind, ok: boolean): void;
  /** `ageSeconds` reads the age of the cached copy at scrape time (undefined: none cached). */
  track(anchor: string, document: RemoteDocumentKind, ageSeconds: () => number | undefined): void;
}

/** The stores whose commands are timed (label `store`; stores/observed-stores.ts reports them). */
export type StoreName = 'replay' | 'revocation' | 'lineage' | 'vault';

export interface StoreObserver {
  operation(store: StoreName, operation: string, seconds: number, failed: boolean): void;
}

/** What the key service says about one published signing key, read at scrape time. */
export interface SigningKeyFacts {
  readonly kid: string;
  readonly state: string;
  readonly ageSeconds: number;
}

/** One certificate a SAML anchor trusts, read at scrape time. */
export interface CertificateFacts {
  readonly anchor: string;
  readonly certificate: string;
  readonly notAfterSeconds: number;
}

/** One token request as the audit trail wrote it. */
export interface TokenRequestFacts {
  readonly grantType: string | undefined;
  readonly clientId: string | undefined;
  readonly error: string | undefined;
  readonly seconds: number;
}

/** From a quarter of a millisecond (a cached exchange) to 5 s (an upstream at its timeout). */
export const LATENCY_BUCKETS = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** A labelled series of Metrics: its kind, name, help text and label names. */
interface SeriesSpec<Kind extends 'counter' | 'histogram' = 'counter' | 'histogram'> {
  readonly kind: Kind;
  readonly name: string;
  readonly help: string;
  readonly labelNames: string[];
}

const counter = (name: string, help: string, labelNames: string[]): SeriesSpec<'counter'> => ({
  kind: 'counter',
  name,
  help,
  labelNames,
});

const histogram = (name: string, help: string, labelNames: string[]): SeriesSpec<'histogram'> => ({
  kind: 'histogram',
  name,
  help,
  labelNames,
});

/** The labelled series, in the order they are registered (and so exposed). */
const SERIES = {
  requests: counter(
    'actbridge_token_requests_total',
    'Token endpoint requests by grant type, outcome (issued, refused) and OAuth error code.',
    ['grant_type', 'outcome', 'error'],
  ),
  latency: histogram(
    'actbridge_token_request_duration_seconds',
    'Time from the token request being read to its audit line, by grant type.',
    ['grant_type'],
  ),
  issued: counter(
    'actbridge_tokens_issued_total',
    'Tokens issued, by trust anchor of the subject, client and issued token type.',
    ['anchor', 'client', 'token_type'],
  ),
  refusals: counter(
    'actbridge_token_refusals_total',
    'Refused token requests by the step that refused them and OAuth error code.',
    ['step', 'error'],
  ),
  fetches: counter(
    'actbridge_remote_key_fetches_total',
    'Fetches of remote key documents (JWKS, SAML metadata) by trust anchor, failed ones included.',
    ['anchor', 'document'],
  ),
  fetchFailures: counter(
    'actbridge_remote_key_fetch_failures_total',
    'Failed fetches of remote key documents (network, HTTP status, unparsable body) by trust anchor.',
    ['anchor', 'document'],
  ),
  storeLatency: histogram(
    'actbridge_store_operation_duration_seconds',
    'Store commands (replay, revocation, lineage: memory or Redis; vault: memory or PostgreSQL), by store and operation.',
    ['store', 'operation'],
  ),
  storeErrors: counter(
    'actbridge_store_errors_total',
    'Store commands (replay, revocation, lineage, vault) that failed (the request failed closed), by store and operation.',
    ['store', 'operation'],
  ),
  verifiedTokenLookups: counter(
    'actbridge_verified_token_cache_lookups_total',
    'Presented JWTs looked up among remembered signatures (VERIFIED_TOKEN_CACHE) by result: hit (not verified again), miss.',
    ['result'],
  ),
  vault: counter(
    'actbridge_vault_requests_total',
    'Token vault endpoint requests by event (connect, callback, connect_complete, disconnect), outcome and OAuth error code.',
    ['event', 'outcome', 'error'],
  ),
  reloads: counter('actbridge_config_reloads_total', 'Configuration reloads by outcome (success, failure).', [
    'outcome',
  ]),
};

/** Each series' children by label values, of the kind its spec names. */
type SeriesChildren<Table> = {
  readonly [Field in keyof Table]: Table[Field] extends SeriesSpec<'counter'>
    ? ChildCache<Counter.Internal>
    : ChildCache<Histogram.Internal<string>>;
};

/** Registers every series of `table`, in order; a child exists (at 0, all buckets at 0) from its first lookup. */
function registerSeries<Table extends Record<string, SeriesSpec>>(
  registry: Registry,
  table: Table,
): SeriesChildren<Table> {
  const registers = [registry];
  const children = (spec: SeriesSpec): ChildCache<unknown> => {
    const { name, help, labelNames } = spec;
    if (spec.kind === 'counter') {
      const series = new Counter({ name, help, labelNames, registers });
      return new ChildCache((values) => {
        const child = series.labels(...values);
        child.inc(0);
        return child;
      });
    }
    const series = new Histogram({ name, help, labelNames, buckets: LATENCY_BUCKETS, registers });
    return new ChildCache((values) => {
      series.zero(Object.fromEntries(labelNames.map((label, i) => [label, values[i]!])));
      return series.labels(...values);
    });
  };
  return Object.fromEntries(
    Object.entries(table).map(([field, spec]) => [field, children(spec)]),
  ) as SeriesChildren<Table>;
}

/**
 * The Prometheus series of one actbridge instance, in its own registry (several instances may share a
 * process in tests). Exposed on the management listener (management/management-server.ts).
 */
export class Metrics implements RemoteFetchObserver, StoreObserver {
  readonly registry = new Registry();
  readonly clients = new ConfiguredValues();
  readonly anchors = new ConfiguredValues();
  private processMetrics = false;
  private readonly keySetAges = new Map<string, [string, RemoteDocumentKind, () => number | undefined]>();
  private signingKeys: () => readonly SigningKeyFacts[] = () => [];
  private certificates: () => Promise<readonly CertificateFacts[]> = async () => [];
  private readonly series = registerSeries(this.registry, SERIES);
  private readonly lastReload = new Gauge({
    name: 'actbridge_config_reload_last_success_timestamp_seconds',
    help: 'When the configuration in force was loaded (startup or last successful reload), Unix seconds.',
    registers: [this.registry],
    aggregator: 'min', // with workers: the worker whose configuration is oldest
  });
  private readonly auditFailures = new Counter({
    name: 'actbridge_audit_write_failures_total',
    help: 'Audit lines that could not be written; each failed its request closed (503).',
    registers: [this.registry],
  });

  constructor(labels: { clientIds?: Iterable<string>; anchors?: Iterable<string> } = {}) {
    this.allowLabels(labels);
    // Series that exist before the first request, so that rates and alerts see a zero, not nothing.
    for (const grant of GRANT_LABEL_VALUES) {
      this.series.requests.get(grant, 'issued', NONE);
      this.series.latency.get(grant);
    }
    for (const result of ['hit', 'miss']) this.series.verifiedTokenLookups.get(result);
    this.lastReload.setToCurrentTime();
    createScrapeGauges(this.registry, {
      keySets: () => this.keySetAges.values(),
      anchors: this.anchors,
      signingKeys: () => this.signingKeys(),
      certificates: () => this.certificates(),
    });
  }

  /** The client ids and anchor names allowed as label values (the rest are `unknown`); again on reload. */
  allowLabels({ clientIds, anchors }: { clientIds?: Iterable<string>; anchors?: Iterable<string> }): void {
    if (clientIds) this.clients.replace(clientIds);
    if (!anchors) return;
    const names = new Set(anchors);
    this.anchors.replace(names);
    // Anchors gone from the configuration no longer report a cached key set.
    for (const [key, [anchor]] of this.keySetAges) if (!names.has(anchor)) this.keySetAges.delete(key);
  }

  /** Node's process and runtime series (CPU, memory, event loop, GC); once, when the listener starts. */
  collectProcessMetrics(): void {
    if (this.processMetrics) return;
    this.processMetrics = true;
    collectDefaultMetrics({ register: this.registry });
    // Gauges named like counters (promtool rejects them); nodejs_active_{handles,requests,resources}
    // beside them carry the same counts by type.
    for (const name of [
      'nodejs_active_handles_total',
      'nodejs_active_requests_total',
      'nodejs_active_resources_total',
    ]) {
      this.registry.removeSingleMetric(name);
    }
  }

  tokenRequest({ grantType, error, seconds }: TokenRequestFacts): void {
    const grant = grantLabel(grantType);
    this.series.requests.get(grant, error === undefined ? 'issued' : 'refused', errorLabel(error)).inc();
    this.series.latency.get(grant).observe(seconds);
  }

  /** `upstream`: a token the vault handed out (the provider's, not one actbridge signed). */
  tokenIssued(
    anchor: string | undefined,
    clientId: string | undefined,
    tokenType: string | undefined,
    upstream = false,
  ): void {
    const type = upstream ? UPSTREAM_TOKEN_LABEL : tokenTypeLabel(tokenType);
    this.series.issued.get(this.anchors.label(anchor), this.clients.label(clientId), type).inc();
  }

  tokenRefused(step: RefusalStep, error: string): void {
    this.series.refusals.get(step, errorLabel(error)).inc();
  }

  /** One request to a vault endpoint, as its audit line says (`vault.callback`, `denied: access_denied`). */
  vaultRequest(event: string, outcome: string, error?: string): void {
    this.series.vault.get(vaultEventLabel(event), vaultOutcomeLabel(outcome), errorLabel(error)).inc();
  }

  fetched(anchor: string, document: RemoteDocumentKind, ok: boolean): void {
    const name = this.anchors.label(anchor);
    this.series.fetches.get(name, document).inc();
    if (!ok) this.series.fetchFailures.get(name, document).inc();
  }

  track(anchor: string, document: RemoteDocumentKind, ageSeconds: () => number | undefined): void {
    this.keySetAges.set(`${anchor}\n${document}`, [anchor, document, ageSeconds]);
    this.series.fetches.get(this.anchors.label(anchor), document);
    this.series.fetchFailures.get(this.anchors.label(anchor), document);
  }

  operation(store: StoreName, operation: string, seconds: number, failed: boolean): void {
    this.series.storeLatency.get(store, operation).observe(seconds);
    if (failed) this.series.storeErrors.get(store, operation).inc();
  }

  /** Where the signing-key gauges read from at scrape time (the assembly wires the key service). */
  readSigningKeysFrom(read: () => readonly SigningKeyFacts[]): void {
    this.signingKeys = read;
  }

  /** Where the SAML certificate gauge reads from at scrape time. */
  readCertificatesFrom(read: () => Promise<readonly CertificateFacts[]>): void {
    this.certificates = read;
  }

  /** A configuration reload finished (`config_reloads_total`, and the timestamp on success). */
  configReloaded(outcome: 'success' | 'failure'): void {
    this.series.reloads.get(outcome).inc();
    if (outcome === 'success') this.lastReload.setToCurrentTime();
  }

  /** A presented JWT was looked up among the signatures verified before (jose/verified-signatures.ts). */
  verifiedTokenLookup(hit: boolean): void {
    this.series.verifiedTokenLookups.get(hit ? 'hit' : 'miss').inc();
  }

  auditWriteFailed(): void {
    this.auditFailures.inc();
  }

  /** The exposition (Prometheus text format 0.0.4). */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
