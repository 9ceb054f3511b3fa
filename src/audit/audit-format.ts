import type { AuditActor } from './audit-record.js';

/** AUDIT_FORMAT: one JSON object per line, or the one-line key=value form operators grep. */
export type AuditFormat = 'json' | 'kv';

type Line = Readonly<Record<string, unknown>>;

export function formatAuditLine(line: Line, format: AuditFormat): string {
  return format === 'kv' ? formatKeyValue(line) : JSON.stringify(line);
}

/**
 * `2026-05-10T22:13:01.000Z event=token.issued principal=u_marwan acting_as=spiffe://prod/agent/v3
 * attestation=github-oidc aud=api.github.com scope="read:repo write:issues" ttl=600s jti=...`.
 * Keys are fixed here; every value is quoted when it holds anything but plain printable ASCII, so a
 * hostile value (a `sub`, a User-Agent) can neither add a field nor start a line.
 */
export function formatKeyValue(line: Line): string {
  const parts: string[] = [typeof line.ts === 'string' ? line.ts : new Date().toISOString()];
  const add = (key: string, value: unknown): void => {
    if (value === undefined || value === null) return;
    parts.push(`${key}=${kvValue(typeof value === 'string' ? value : JSON.stringify(value))}`);
  };
  const subject = line.subject as AuditActor | string | undefined;
  const actors = (line.actors as AuditActor[] | undefined) ?? [];
  add('event', line.event);
  add('outcome', line.outcome);
  add('principal', typeof subject === 'string' ? subject : subject?.sub);
  if (typeof subject === 'object') add('principal_iss', subject.iss);
  for (const [key, value] of actorFields(actors)) add(key, value);
  const issued = line.issued_subject as AuditActor | undefined;
  add('issued_principal', issued?.sub);
  add('issued_principal_iss', issued?.iss);
  add('client', line.client_id);
  // `client` is as claimed; whether it was proven is what separates a client's refusal from a stranger's.
  add('client_authenticated', line.client_authenticated);
  add('grant', lastPart(line.grant_type));
  add('subject_token_type', lastPart(line.subject_token_type));
  add('actor_token_type', lastPart(line.actor_token_type));
  add('assertion_type', lastPart(line.assertion_type));
  add('issued_token_type', lastPart(line.issued_token_type));
  add('mode', line.mode);
  add('anchor', line.anchor);
  add('rule', line.rule);
  add('aud', Array.isArray(line.audience) ? kvList(line.audience as string[]) : undefined);
  add('resource', Array.isArray(line.resource) ? kvList(line.resource as string[]) : undefined);
  add('scope', line.scope);
  add('ttl', typeof line.ttl === 'number' ? `${line.ttl}s` : undefined);
  add('exp', line.exp);
  add('jti', line.jti);
  add('parent_jti', Array.isArray(line.parent_jti) ? kvList(line.parent_jti as string[]) : undefined);
  add('key', line.key);
  add('revoked_by', line.revoked_by);
  add('through', line.through);
  add('operator', line.operator);
  add('descendants_revoked', line.descendants_revoked);
  add('trigger', line.trigger);
  add('generation', line.generation);
  add('changes', line.changes);
  add('dpop_jkt', line.dpop_jkt);
  add('connection', line.connection);
  // What the JSON line says and the key=value one must not drop: a vault disconnect's upstream
  // revocation, and the HTTP status of a request refused before any route (http.refused).
  add('upstream_revoked', line.upstream_revoked);
  add('status', line.status);
  add('active', line.active);
  add('error', line.error);
  add('step', line.step);
  add('reason', line.reason);
  add('client_ip', line.client_ip);
  add('user_agent', line.user_agent);
  add('latency', typeof line.latency_ms === 'number' ? `${line.latency_ms}ms` : undefined);
  add('trace_id', line.trace_id);
  add('request_id', line.request_id);
  return parts.join(' ');
}

/** The actor chain, outermost first: each actor's sub, issuer and attesting platform (`-` for none). */
function actorFields(actors: readonly AuditActor[]): Array<[string, string]> {
  if (actors.length === 0) return [];
  const fields: Array<[string, string]> = [['acting_as', kvList(actors.map((a) => a.sub))]];
  // An actor is its sub in its issuer's namespace (RFC 8693 §4.1): the same sub from two issuers is two parties.
  if (actors.some((a) => a.iss !== undefined)) fields.push(['acting_as_iss', kvList(actors.map((a) => a.iss ?? '-'))]);
  if (actors.some((a) => a.attested_by !== undefined)) {
    fields.push(['attestation', kvList(actors.map((a) => a.attested_by ?? '-'))]);
  }
  return fields;
}

/** A grant or token type URI's last segment (`token-exchange`, `access_token`, `saml2`, `id-jag`). */
function lastPart(value: unknown): string | undefined {
  return typeof value === 'string' ? value.slice(value.lastIndexOf(':') + 1) : undefined;
}

/** A list value: elements joined by `,`, a `,` or `\` inside an element escaped with `\`. */
function kvList(values: readonly string[]): string {
  return values.map((v) => v.replace(/[\\,]/g, '\\$&')).join(',');
}

// Printable ASCII but space, `"`, `=` and `\`: written bare. Anything else is quoted.
const BARE = /^[\x21\x23-\x3c\x3e-\x5b\x5d-\x7e]+$/;
// Inside quotes: the quote and backslash, controls, and characters that end or reorder a line on screen.
// eslint-disable-next-line no-control-regex
const ESCAPED = /[\\"\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

export function kvValue(value: string): string {
  if (BARE.test(value)) return value;
  return `"${value.replace(ESCAPED, (c) => NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}
