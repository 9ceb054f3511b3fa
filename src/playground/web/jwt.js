// Decoding and annotating issued tokens. Nothing here verifies a signature: the page shows what the
// token endpoint answered; resource servers verify (actbridge/verify, the JWKS).

/**
 * Characters that reorder or hide text on screen (bidi embeddings, overrides, isolates and marks,
 * zero-width characters, line and paragraph separators), the set the audit's key=value line escapes.
 */
const INVISIBLE = /[\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069]/g;

/**
 * A value as the page shows it, each of those characters written as its code point (`\u202e`): a
 * claim such as `sub: "mallory\u202enimda"` cannot make the page display another name (Unicode UAX #9).
 */
export function visibleText(value) {
  return String(value).replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const TYP_NOTES = {
  'at+jwt': 'RFC 9068 JWT access token',
  'oauth-id-jag+jwt': 'ID-JAG: an identity assertion for another domain',
  JWT: 'a plain JWT',
};

/** The header and claims of a compact JWS, or undefined when the value is not one. */
export function decodeJwt(token) {
  const parts = typeof token === 'string' ? token.split('.') : [];
  if (parts.length !== 3) return undefined;
  try {
    return { header: JSON.parse(base64url(parts[0])), claims: JSON.parse(base64url(parts[1])) };
  } catch {
    return undefined;
  }
}

function base64url(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const bytes = Uint8Array.from(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

export function headerNotes(header, settings) {
  return Object.entries(header).map(([name, value]) => ({
    name,
    value,
    note:
      name === 'typ'
        ? (TYP_NOTES[value] ?? '')
        : name === 'kid'
          ? `signing key; the public key is at ${settings.issuer.replace(/\/+$/, '')}/.well-known/jwks.json`
          : name === 'alg'
            ? 'signature algorithm'
            : '',
  }));
}

const words = (value) => (typeof value === 'string' ? value.split(/\s+/).filter(Boolean) : []);

/**
 * One row per claim: name, value and what it means for this exchange.
 * `context`: { settings, request: { audience[], resource[], scope? }, subjectClaims?, client?, dpopJkt? }.
 */
export function claimNotes(claims, context) {
  const rows = [];
  for (const [name, value] of Object.entries(claims)) {
    rows.push({ name, value, note: noteFor(name, value, claims, context) });
  }
  return rows;
}

function noteFor(name, value, claims, context) {
  const { settings, request, subjectClaims, client, dpopJkt } = context;
  switch (name) {
    case 'iss':
      return value === settings.issuer ? 'this actbridge issued it' : 'the issuer';
    case 'sub':
      return 'the subject: whom the token is about';
    case 'sub_id':
      return value && typeof value === 'object'
        ? `RFC 9493 subject identifier (${value.format}): ${value.sub ?? '?'} as named by ${value.iss ?? '?'}`
        : '';
    case 'aud':
      return audienceNote(value, request, client);
    case 'scope':
      return scopeNote(value, request, subjectClaims, client);
    case 'client_id':
      return claims.act !== undefined || claims.iss === settings.issuer
        ? 'the client that asked for this token'
        : 'the client this token is for';
    case 'exp':
      return { countdown: value, text: lifetimeNote(claims, subjectClaims) };
    case 'iat':
    case 'nbf':
    case 'auth_time':
      return typeof value === 'number' ? new Date(value * 1000).toISOString() : '';
    case 'jti':
      return 'unique identifier (revocation, replay checks)';
    case 'cnf':
      return cnfNote(value, dpopJkt);
    case 'act':
      return actNote(value);
    case 'may_act':
      return 'who may act for the subject (RFC 8693 §4.4)';
    case 'resource':
      return 'resource servers the redeeming domain may issue for';
    default:
      return '';
  }
}

function audienceNote(value, request, client) {
  const aud = Array.isArray(value) ? value : [value];
  const asked = [...request.audience, ...request.resource];
  if (asked.length > 0) {
    return `requested (audience/resource): ${asked.join(' ')}`;
  }
  if (client?.default_audience !== undefined && aud.includes(client.default_audience)) {
    return `none requested: the client's default_audience`;
  }
  return 'none requested: chosen by policy';
}

function scopeNote(value, request, subjectClaims, client) {
  const granted = words(value);
  const parts = [];
  const requested = request.scope === undefined ? undefined : words(request.scope);
  parts.push(requested === undefined ? 'none requested' : `requested "${requested.join(' ')}"`);
  const subjectScope =
    subjectClaims && typeof subjectClaims.scope === 'string' ? words(subjectClaims.scope) : undefined;
  if (subjectScope !== undefined) parts.push(`the subject token had "${subjectScope.join(' ')}"`);
  if (client) parts.push(`the client may have "${client.scopes.join(' ')}"`);
  const dropped = (subjectScope ?? client?.scopes ?? []).filter((s) => !granted.includes(s));
  const why = dropped.map((s) => {
    if (requested !== undefined && !requested.includes(s)) return `${s} (not requested)`;
    if (client && !client.scopes.includes(s)) return `${s} (not allowed for the client)`;
    return `${s} (narrowed by policy)`;
  });
  return `${parts.join('; ')}.${why.length > 0 ? ` Narrowed away: ${why.join(', ')}.` : ' Nothing narrowed away.'}`;
}

function lifetimeNote(claims, subjectClaims) {
  if (typeof claims.exp !== 'number' || typeof claims.iat !== 'number') return '';
  const parts = [`lifetime ${claims.exp - claims.iat} s (exp − iat)`];
  if (subjectClaims && subjectClaims.exp === claims.exp) parts.push("bounded by the subject token's exp");
  return parts.join('; ');
}

function cnfNote(value, dpopJkt) {
  if (!value || typeof value !== 'object' || typeof value.jkt !== 'string') return '';
  if (dpopJkt !== undefined && value.jkt === dpopJkt) {
    return "bound to this page's DPoP key (RFC 9449 cnf.jkt): only proofs signed by that key can use it";
  }
  return 'bound to a DPoP key (RFC 9449 cnf.jkt)';
}

function actNote(act) {
  const chain = actorsOutermostFirst(act);
  if (chain.length === 0) return '';
  return `delegation (RFC 8693 act): ${chain.length} actor(s); the outermost, ${chain[0].sub}, acts now`;
}

/** The `act` chain, outermost (current) actor first. */
export function actorsOutermostFirst(act) {
  const actors = [];
  for (let level = act; level && typeof level === 'object' && actors.length < 64; level = level.act) {
    actors.push({ sub: String(level.sub), iss: level.iss, attested_by: level.attested_by });
  }
  return actors;
}
