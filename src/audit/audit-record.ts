import { callerTraceId } from '../observability/tracing.js';

/** One actor in an audit line: who acted, in which namespace. */
export interface AuditActor {
  readonly sub: string;
  readonly iss?: string;
  /** The platform that vouched for this actor (its trust anchor's `attestation` label). */
  readonly attested_by?: string;
}

/**
 * What is known about one token request, filled in as the request is processed so that a refusal
 * names everything that was established before it happened. Never holds a token or a secret.
 */
export interface AuditRecord {
  request_id?: string;
  /** The caller's address: the socket peer, or X-Forwarded-For through TRUST_PROXY's proxies only. */
  client_ip?: string;
  grant_type?: string;
  /** The client as claimed in the request; `client_authenticated` says whether that was proven. */
  client_id?: string;
  client_authenticated: boolean;
  subject_token_type?: string;
  actor_token_type?: string;
  /** The principal the issued token is about (sub + the issuer that vouched for it). */
  subject?: AuditActor;
  /** The actor chain of the issued token, outermost (current) actor first. */
  actors?: AuditActor[];
  /**
   * delegation (act recorded) or impersonation (no act; the client is named here only), or assertion
   * (an RFC 7521 assertion grant: no act, the client named by client_id).
   */
  mode?: 'delegation' | 'impersonation' | 'assertion';
  /** Assertion grants: the format of the presented `assertion` (a token type URI: saml2; id-jag or jwt for jwt-bearer). */
  assertion_type?: string;
  audience?: string[];
  /** ID-JAG: the RFC 8707 resources it names (for MCP, the MCP server), behind `audience`. */
  resource?: string[];
  scope?: string;
  ttl?: number;
  jti?: string;
  /**
   * The issued token's parents in the lineage: the `jti`s of the presented tokens actbridge issued, and
   * `root:<hash>` keys (docs/lineage.md) for tokens from trust anchors; subject token first.
   */
  parent_jti?: string[];
  issued_token_type?: string;
  /** The trust-anchor policy rule that granted the token (`<anchor>/<rule>`), for anchors with `rules:`. */
  rule?: string;
  /** The issued token's principal when a policy rule formed it (differs from `subject`, as presented). */
  issued_subject?: AuditActor;
  /** RFC 9449: thumbprint of the key of the request's valid DPoP proof (the issued token's `cnf.jkt`). */
  dpop_jkt?: string;
  /** Token vault: the connection whose upstream token was asked for (docs/token-vault.md). */
  connection?: string;
  /** The caller's `User-Agent`, capped (it is the caller's text, kept for forensics only). */
  user_agent?: string;
  /** W3C trace id of the request's span (or of the caller's `traceparent`), to find its trace. */
  trace_id?: string;
  /** The trust anchor that vouched for the subject (its file name). */
  anchor?: string;
  /** The issued token's `exp` (epoch seconds). */
  exp?: number;
  /** When the request reached its handler (`performance.now()`): the line's `latency_ms` counts from it. */
  started?: number;
}

/** Longest `User-Agent` kept: enough to name a client library and version, not a payload. */
const USER_AGENT_MAX = 256;

/** Longest request value (a client_id, grant_type or token type as presented) an audit line repeats. */
const PRESENTED_VALUE_MAX = 256;

/**
 * A value the caller chose, as an audit line repeats it: the first 256 characters and `...`. A registered
 * client_id or a token-type URI is far shorter; a body's worth of one is not written whole on every refusal.
 */
export function presentedValue(value: string): string;
export function presentedValue(value: string | undefined): string | undefined;
export function presentedValue(value: string | undefined): string | undefined {
  return value !== undefined && value.length > PRESENTED_VALUE_MAX
    ? `${value.slice(0, PRESENTED_VALUE_MAX)}...`
    : value;
}

/**
 * The record of one request; `traceId` is its span's when it has one (the token endpoint), else the
 * caller's `traceparent`'s or a random one, as docs/audit.md promises of every line.
 */
export function newAuditRecord(
  request?: {
    readonly id: unknown;
    readonly ip?: string;
    readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
  },
  traceId?: string,
): AuditRecord {
  const agent = request?.headers?.['user-agent'];
  return {
    request_id: request ? String(request.id) : undefined,
    client_ip: request?.ip,
    client_authenticated: false,
    ...(typeof agent === 'string' ? { user_agent: agent.slice(0, USER_AGENT_MAX) } : {}),
    // A refusal before the handler (content type, body size) or an endpoint without a span still has one.
    ...(request ? { trace_id: traceId ?? callerTraceId(request.headers ?? {}) } : {}),
    started: performance.now(),
  };
}

// The record travels with the request object so that the exception filter, which writes refusal lines,
// sees what the handlers learnt before they threw.
const recordsByRequest = new WeakMap<object, AuditRecord>();

export function attachAuditRecord(request: object, record: AuditRecord): void {
  recordsByRequest.set(request, record);
}

export function auditRecordOf(request: object): AuditRecord | undefined {
  return recordsByRequest.get(request);
}

/**
 * The validated subject: its principal and the trust anchor that vouched for it, known from here on, so
 * that a refusal after validation (policy, scope, a revoked lineage) names them as an issuance would.
 */
export function recordSubject(
  audit: AuditRecord,
  subject: { readonly principal: AuditActor; readonly anchor: { readonly name: string } },
): void {
  audit.subject = subject.principal;
  audit.anchor = subject.anchor.name;
}

/** The audit fields of an issued token, written here for every token actbridge mints. */
export function recordIssuance(
  audit: AuditRecord,
  jti: string,
  issuedTokenType: string,
  parents: readonly string[],
  exp: number,
): void {
  audit.jti = jti;
  audit.parent_jti = [...parents];
  audit.issued_token_type = issuedTokenType;
  audit.exp = exp;
}
