import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';

/** One HTTP exchange the MCP client made, as sent and as answered. */
export interface TracedCall {
  readonly method: string;
  readonly url: string;
  readonly requestHeaders: Readonly<Record<string, string>>;
  /** The body as sent: a form or JSON text. */
  readonly requestBody: string | undefined;
  readonly status: number;
  readonly responseHeaders: Readonly<Record<string, string>>;
  readonly responseBody: string;
}

/** A fetch that records every exchange (for the example's printout and the tests' assertions). */
export function tracingFetch(onCall: (call: TracedCall) => void, base: FetchLike = fetch): FetchLike {
  return async (input, init) => {
    const response = await base(input, init);
    const body = init?.body;
    onCall({
      method: init?.method ?? 'GET',
      url: String(input),
      requestHeaders: Object.fromEntries(new Headers(init?.headers)),
      requestBody: typeof body === 'string' || body instanceof URLSearchParams ? String(body) : undefined,
      status: response.status,
      responseHeaders: Object.fromEntries(response.headers),
      responseBody: await response.clone().text(),
    });
    return response;
  };
}

/** The claims of a JWT, unverified: for display. */
export function jwtParts(jwt: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [header, payload] = jwt
    .split('.')
    .slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>);
  return { header: header!, claims: payload! };
}

const JWT = /^[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+$/;
/** Tokens and credentials shortened; everything else (URNs, URLs, scopes) as sent. */
const short = (value: string) =>
  JWT.test(value) || /^[A-Za-z0-9+/=_-]{100,}$/.test(value) ? `${value.slice(0, 24)}…(${value.length} chars)` : value;
const clip = (text: string) => (text.length > 240 ? `${text.slice(0, 240)}…` : text);

/** A readable rendering of one exchange: form fields one per line, tokens shortened, issued JWTs decoded. */
export function formatCall(call: TracedCall, label: string): string {
  const lines = [`→ ${call.method} ${call.url}   (${label})`];
  const authorization = call.requestHeaders.authorization;
  if (authorization) {
    const [scheme, credentials = ''] = authorization.split(' ');
    lines.push(`    authorization: ${scheme} ${credentials.slice(0, 24)}…`);
  }
  if (call.requestBody !== undefined) {
    if (call.requestHeaders['content-type']?.startsWith('application/x-www-form-urlencoded')) {
      for (const [name, value] of new URLSearchParams(call.requestBody)) lines.push(`    ${name}=${short(value)}`);
    } else lines.push(`    ${clip(call.requestBody)}`);
  }
  lines.push(`← ${call.status}`);
  const challenge = call.responseHeaders['www-authenticate'];
  if (challenge) lines.push(`    www-authenticate: ${challenge}`);
  let json: unknown;
  try {
    json = JSON.parse(call.responseBody);
  } catch {
    json = undefined;
  }
  if (json && typeof json === 'object') {
    const shown = Object.fromEntries(
      Object.entries(json).map(([k, v]) => [k, typeof v === 'string' && JWT.test(v) ? short(v) : v]),
    );
    lines.push(`    ${clip(JSON.stringify(shown))}`);
    const token = (json as { access_token?: unknown }).access_token;
    if (typeof token === 'string' && JWT.test(token)) {
      const { header, claims } = jwtParts(token);
      lines.push(`    ${String(header.typ)} ${JSON.stringify(claims)}`);
    }
  } else if (call.responseBody) lines.push(`    ${clip(call.responseBody)}`);
  return lines.join('\n');
}
