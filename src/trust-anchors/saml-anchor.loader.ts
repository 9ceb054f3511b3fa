import { readFileSync } from 'node:fs';
import { resolveBeside, unboundedFile } from '../config/config-files.js';
import { idpMetadata, pemCertificates } from '../saml/saml-certificates.js';
import type { TrustAnchorConfig } from './trust-anchor.config.js';

/** Fields that mean something for JWT issuers only; a `kind: saml` anchor must not set them. */
const OIDC_ONLY_FIELDS = [
  'discovery',
  'jwks_uri',
  'jwks',
  'jwks_file',
  'audiences',
  'algorithms',
  'access_token_typ',
  'trusted_for_chains',
  'max_token_age',
  'max_token_lifetime',
  'token_types',
  'client_ids',
  'introspection',
  'id_jag',
  'jwt_bearer',
];

type Problems = Array<[path: string, message: string]>;

/**
 * The cross-field rules of `kind`, run on the raw YAML (so that fields with defaults count only when
 * written): a SAML anchor's issuer is an entity ID (any absolute URI), it has no OIDC fields, and its
 * certificates come from exactly one source, read and parsed now so a bad file stops startup. An OIDC
 * anchor has no `saml:` section.
 */
export function checkAnchorKind(raw: unknown, config: TrustAnchorConfig, file: string): Problems {
  const written = new Set(typeof raw === 'object' && raw !== null ? Object.keys(raw) : []);
  const problems: Problems = [];
  if (config.kind !== 'saml') {
    if (written.has('saml')) problems.push(['saml', 'applies to kind: saml anchors only']);
    return problems;
  }
  if (!isEntityId(config.issuer)) {
    problems.push(['issuer', 'must be the IdP entity ID: an absolute URI (e.g. https://idp.example.com/saml)']);
  }
  for (const field of OIDC_ONLY_FIELDS) {
    if (written.has(field)) problems.push([field, 'applies to OIDC anchors only, not kind: saml']);
  }
  const saml = config.saml;
  if (!saml) return problems;
  problems.push(...attributeMapProblems(saml.attributes ?? {}));
  const sources = [saml.metadata_file, saml.metadata_url, saml.certificates].filter((s) => s !== undefined);
  if (sources.length !== 1) {
    problems.push(['saml', 'give exactly one certificate source: metadata_file, metadata_url or certificates']);
    return problems;
  }
  if (saml.metadata_file !== undefined) {
    const path = resolveBeside(file, saml.metadata_file);
    const xml = readText(path, (m) => problems.push(['saml.metadata_file', m]));
    try {
      if (xml !== undefined) {
        const metadata = idpMetadata(xml, config.issuer);
        saml.resolvedCertificates = metadata.certificates;
        saml.resolvedValidUntil = metadata.validUntil;
      }
    } catch (error) {
      problems.push(['saml.metadata_file', `${path}: ${(error as Error).message}`]);
    }
  }
  if (saml.certificates !== undefined) {
    const pems: string[] = [];
    saml.certificates.forEach((entry, i) => {
      const inline = entry.includes('-----BEGIN');
      const source = inline
        ? entry
        : readText(resolveBeside(file, entry), (m) => problems.push([`saml.certificates[${i}]`, m]));
      if (source === undefined) return;
      try {
        pems.push(...pemCertificates(source));
      } catch (error) {
        problems.push([`saml.certificates[${i}]`, `${inline ? '' : `${entry}: `}${(error as Error).message}`]);
      }
    });
    saml.resolvedCertificates = [...new Set(pems)];
  }
  return problems;
}

/**
 * Each attribute Name renamed once: the runtime map is keyed by Name, so a second claim name for it would
 * silently drop the first. (Two Names for one claim name cannot be written: YAML refuses duplicate keys.)
 */
function attributeMapProblems(attributes: Readonly<Record<string, string>>): Problems {
  const claimOf = new Map<string, string>();
  const problems: Problems = [];
  for (const [claim, name] of Object.entries(attributes)) {
    const first = claimOf.get(name);
    if (first === undefined) claimOf.set(name, claim);
    else problems.push([`saml.attributes.${claim}`, `maps ${name}, which saml.attributes.${first} already maps`]);
  }
  return problems;
}

/** A SAML entity ID (SAML Core §8.3.6): an absolute URI, at most 1024 characters. */
function isEntityId(value: unknown): boolean {
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024 || /\s/.test(value)) return false;
  try {
    return new URL(value).protocol.length > 1;
  } catch {
    return false;
  }
}

function readText(path: string, onError: (message: string) => void): string | undefined {
  try {
    const unbounded = unboundedFile(path);
    if (unbounded) {
      onError(`${path} ${unbounded}`);
      return undefined;
    }
    return readFileSync(path, 'utf8');
  } catch (error) {
    onError(`${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
}
