import { X509Certificate } from 'node:crypto';
import { clock } from '../common/clock.js';
import type { KeyService } from '../keys/key-service.js';
import type { CertificateFacts, Metrics, SigningKeyFacts } from '../observability/metrics.js';
import type { TrustAnchorRegistry } from '../trust-anchors/trust-anchor-registry.js';

/**
 * Feeds the scrape-time gauges read from the key service and the anchors: signing key ages and the
 * expiry of the certificates SAML anchors trust. Read-only: nothing here loads or changes keys.
 */
export function observeKeysAndCertificates(metrics: Metrics, keys: KeyService, anchors: TrustAnchorRegistry): void {
  const firstSeen = new Map<string, number>();
  metrics.readSigningKeysFrom((): SigningKeyFacts[] => {
    const now = clock.seconds();
    return keys.published.map((key) => {
      // A JWK may say when it was made (`iat`, as some key tools write); else the key is as old as this process knows it.
      const iat = (key.publicJwk as { iat?: unknown }).iat;
      if (!firstSeen.has(key.kid)) firstSeen.set(key.kid, now);
      const since = typeof iat === 'number' && Number.isFinite(iat) ? iat : firstSeen.get(key.kid)!;
      return { kid: key.kid, state: key.kid === keys.active.kid ? 'active' : 'published', ageSeconds: now - since };
    });
  });
  const parsed = new Map<string, { certificate: string; notAfterSeconds: number } | null>();
  metrics.readCertificatesFrom(async (): Promise<CertificateFacts[]> => {
    const facts: CertificateFacts[] = [];
    for (const anchor of anchors.anchors) {
      if (anchor.kind !== 'saml') continue;
      // Remote metadata: the cached copy (a fetch only when it is due anyway); none yet: nothing to report.
      const pems = await anchor.certificates().catch(() => [] as readonly string[]);
      for (const pem of pems) {
        const cert = certificateFacts(pem, parsed);
        if (cert) facts.push({ anchor: anchor.name, ...cert });
      }
    }
    return facts;
  });
}

function certificateFacts(
  pem: string,
  cache: Map<string, { certificate: string; notAfterSeconds: number } | null>,
): { certificate: string; notAfterSeconds: number } | null {
  let facts = cache.get(pem);
  if (facts !== undefined) return facts;
  try {
    const x509 = new X509Certificate(pem);
    // The SHA-256 fingerprint's first 16 hex digits: enough to tell an anchor's certificates apart.
    const certificate = x509.fingerprint256.replace(/:/g, '').slice(0, 16).toLowerCase();
    facts = { certificate, notAfterSeconds: Math.floor(Date.parse(x509.validTo) / 1000) };
  } catch {
    facts = null;
  }
  cache.set(pem, facts);
  return facts;
}
