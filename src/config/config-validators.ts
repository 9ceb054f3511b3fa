import { isIP } from 'node:net';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  IsArray,
  IsBoolean,
  IsInt,
  IsObject,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  registerDecorator,
  ValidateBy,
  ValidateIf,
  ValidateNested,
  type ValidationOptions,
} from 'class-validator';
import { SCOPE_TOKEN } from '../oauth/scope.js';

// eslint-disable-next-line no-control-regex -- the control characters are what it finds
const CONTROL_CHARACTER = /[\x00-\x1f\x7f]/;

/**
 * An http(s) URL without user info or fragment. Plain http is accepted only for loopback hosts, so that
 * development and tests work while a deployment cannot accidentally trust keys fetched in clear.
 * White space or a control character anywhere is refused: the URL parser would drop it (WHATWG URL
 * §4.4), while an issuer is compared as written, so a stray space would silently match no token.
 */
export function isSecureUrl(value: unknown): boolean {
  if (typeof value !== 'string' || /\s/.test(value) || CONTROL_CHARACTER.test(value)) return false;
  // The parser also reads `https:/idp`, `https:idp` and `https:\\idp` as https://idp/ (WHATWG URL §4.4),
  // where the value, compared as written, would name no issuer: RFC 3986 §3.2 wants "//" and an authority.
  if (!/^https?:\/\/[^/]/i.test(value) || value.includes('\\')) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.hash || value.includes('#')) return false;
  // RFC 3986 §3.2.1: user:password@ is deprecated; in an issuer it would be published in every token.
  if (url.username !== '' || url.password !== '') return false;
  // RFC 3986 §5.2.4: `.` and `..` segments are removed by the parser (routing) but kept in the value as written.
  const path = value.replace(/^https?:\/\/[^/?#]*/i, '').split(/[?#]/, 1)[0]!;
  if (path.split('/').some((segment) => /^(\.|%2e){1,2}$/i.test(segment))) return false;
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && isLoopbackHost(url.hostname);
}

/** An IP address or a DNS host name (RFC 1123 §2.1 labels), what a listener can be bound to. */
export function isHostAddress(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  if (isIP(value) !== 0) return true;
  return (
    value.length <= 253 &&
    /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(value)
  );
}

// Checked at startup, not at listen: `validate` passed a HOST that `serve` could not bind.
export const IsHostAddress = checkedBy('isHostAddress', 'must be an IP address or a host name', isHostAddress);

export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || hostname === '::1' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** proxy-addr's names (Fastify's `trustProxy`) for the usual private ranges. */
const NAMED_PROXY_RANGES = ['loopback', 'linklocal', 'uniquelocal'];

/** A comma-separated list of IP addresses, CIDRs or named ranges; never "trust everyone". */
export function isTrustedProxyList(value: unknown): boolean {
  if (typeof value !== 'string' || value.trim() === '') return false;
  return value.split(',').every((entry) => {
    const item = entry.trim();
    if (NAMED_PROXY_RANGES.includes(item)) return true;
    const [address, bits, ...rest] = item.split('/');
    const family = isIP(address ?? '');
    if (family === 0 || rest.length > 0) return false;
    if (bits === undefined) return true;
    return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
  });
}

/** A property decorator factory from a predicate: `validate` decides, `message` is the default complaint. */
export function checkedBy(
  name: string,
  message: string,
  validate: (value: unknown) => boolean,
): (options?: ValidationOptions) => PropertyDecorator {
  return (options) => (target, propertyName) =>
    registerDecorator({
      name,
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message, ...options },
      validator: { validate },
    });
}

export const IsTrustedProxyList = checkedBy(
  'isTrustedProxyList',
  `must be comma-separated IP addresses or CIDRs, or ${NAMED_PROXY_RANGES.join(', ')}`,
  isTrustedProxyList,
);

/** Whether a proxy list names a /0 range (0.0.0.0/0, ::/0): every address, so any caller. */
export function trustsEveryAddress(value: unknown): boolean {
  return typeof value === 'string' && value.split(',').some((entry) => /\/0*0$/.test(entry.trim()));
}

// A /0 range believes X-Forwarded-For from every caller, which may then write its own client_ip.
export const IsNotEveryAddress = checkedBy(
  'isNotEveryAddress',
  'must not name every address (a /0 range): any caller could set its own X-Forwarded-For',
  (value) => !trustsEveryAddress(value),
);

/**
 * A URL its client library can take apart: WHATWG-valid, its user and password percent-decodable
 * (ioredis and pg decode them, and throw on `%zz` or a bad port, mid-startup, with a stack).
 */
export function isParsableUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
    return true;
  } catch {
    return false;
  }
}

// The message never quotes the value: it may hold a password.
export const IsParsableUrl = checkedBy(
  'isParsableUrl',
  'is not a valid URL (percent-encode reserved characters in the user name and password)',
  isParsableUrl,
);

export const IsSecureUrl = checkedBy(
  'isSecureUrl',
  'must be an https URL without user info or fragment (http only for localhost/127.0.0.1)',
  isSecureUrl,
);

/**
 * A field that may be left out (its initializer, or nothing, is then the default). Unlike class-validator's
 * IsOptional, a key written without a value (YAML null: a bare `require_token_type:`) is not "left out":
 * it is checked like any value, so refused, since null would otherwise silently switch a default off
 * (`jti: single_use`, `require_token_type: true`, `development_only` read as false) or crash the load.
 */
export function IsOmittable(): PropertyDecorator {
  return composed(
    ValidateIf((_owner: object, value: unknown) => value !== undefined),
    HasValue(),
  );
}

/** The check IsOmittable adds; its message is the one reported for a bare key (validate-config). */
export const NO_VALUE = 'hasValue';
const HasValue = checkedBy(
  NO_VALUE,
  'has no value; write one, or leave the key out for the default',
  (v) => v !== null,
);

/** A JWK Set: `{ keys: [ {...}, ... ] }` with at least one key object that has a `kty`. */
export const IsJwkSet = checkedBy('isJwkSet', 'must be a JWK Set: { keys: [ { kty: ..., ... } ] }', isJwkSet);

/** `jwks` of a client or trust anchor: its public keys written inline, when they are not fetched or in a file. */
export function IsInlineJwks(): PropertyDecorator {
  return composed(IsOmittable(), IsObject(), IsJwkSet());
}

export function isJwkSet(value: unknown): value is { keys: Array<Record<string, unknown>> } {
  if (typeof value !== 'object' || value === null) return false;
  const keys = (value as { keys?: unknown }).keys;
  return (
    Array.isArray(keys) &&
    keys.length > 0 &&
    keys.every((k) => typeof k === 'object' && k !== null && typeof (k as { kty?: unknown }).kty === 'string')
  );
}

/**
 * Why a JWK Set configured as someone's *public* keys holds secret material, or undefined: a private
 * key (`d`), or a symmetric key (`kty: oct`, whose `k` is the secret itself and which no asymmetric
 * algorithm would ever select).
 */
export function secretKeyProblem(jwks: { keys: Array<Record<string, unknown>> }): string | undefined {
  if (jwks.keys.some((k) => 'd' in k)) return 'must hold public keys only (a key has "d")';
  if (jwks.keys.some((k) => k.kty === 'oct')) return 'must hold public keys only (a key is symmetric, kty "oct")';
  return undefined;
}

/** Several property decorators as one, applied as if written in this order above the property. */
function composed(...decorators: PropertyDecorator[]): PropertyDecorator {
  return (target, property) => {
    for (const decorate of [...decorators].reverse()) decorate(target, property);
  };
}

/**
 * class-validator's ArrayUnique, in linear time: its filter/indexOf took 3 minutes for a list of 100,000
 * (a reload validates on the serving event loop). Same name and message.
 */
const ArrayUnique = checkedBy(
  'arrayUnique',
  "All $property's elements must be unique",
  (value) => Array.isArray(value) && new Set(value).size === value.length,
);

/** A list of distinct RFC 6749 scope-tokens. */
export function IsScopeList(): PropertyDecorator {
  return composed(
    IsArray(),
    ArrayUnique(),
    Matches(SCOPE_TOKEN, { each: true, message: 'each value must be an RFC 6749 scope-token' }),
  );
}

/** An integer from `min` to `max` inclusive; without `max`, unbounded above. */
export function IsIntInRange(min: number, max?: number): PropertyDecorator {
  return composed(IsInt(), Min(min), ...(max === undefined ? [] : [Max(max)]));
}

/** A string of at least one character. */
export function IsNonEmptyString(): PropertyDecorator {
  return composed(IsString(), MinLength(1));
}

/** An on/off setting that may be left out (the property's initializer is its default). */
export function IsFlag(): PropertyDecorator {
  return composed(IsOmittable(), IsBoolean());
}

/** `client_secret_env` of a SecretSource: the name of the environment variable holding the secret. */
export function IsSecretEnv(): PropertyDecorator {
  return composed(
    IsOmittable(),
    Matches(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'must be an environment variable name' }),
  );
}

/** `client_secret_file` of a SecretSource: the file holding the secret. */
export function IsSecretFile(): PropertyDecorator {
  return composed(IsOmittable(), IsNonEmptyString());
}

/** A mapping of names to strings; `accept` judges each entry whose value is a string. */
export function IsStringMap(
  name: string,
  message: string,
  accept: (key: string, value: string) => boolean,
): PropertyDecorator {
  return composed(
    IsObject(),
    ValidateBy({
      name,
      validator: {
        validate: (value: unknown) =>
          typeof value === 'object' &&
          value !== null &&
          Object.entries(value).every(([key, v]) => typeof v === 'string' && accept(key, v)),
        defaultMessage: () => message,
      },
    }),
  );
}

/** How long a list may be: `notEmpty`, at least one entry; `max`, at most that many. */
export interface ListBounds {
  readonly notEmpty?: boolean;
  readonly max?: number;
}

/** A list of distinct values, optionally non-empty and bounded; `each` (an `{ each: true }` check) judges every value. */
export function IsUniqueList(each: PropertyDecorator, bounds: ListBounds = {}): PropertyDecorator {
  return composed(
    IsArray(),
    ...(bounds.notEmpty ? [ArrayNotEmpty()] : []),
    ArrayUnique(),
    ...(bounds.max === undefined ? [] : [ArrayMaxSize(bounds.max)]),
    each,
  );
}

/** A list of distinct strings, optionally non-empty and bounded. */
export function IsStringList(bounds: ListBounds = {}): PropertyDecorator {
  return IsUniqueList(IsString({ each: true }), bounds);
}

/**
 * A name compared as written (an audience, a subject pattern): no white space at either end and no
 * control character, which a YAML quote keeps and no token or request would carry.
 */
export function isCleanName(value: unknown): boolean {
  return typeof value === 'string' && value === value.trim() && !CONTROL_CHARACTER.test(value);
}

const IsCleanName = checkedBy(
  'isCleanName',
  'each value must have no white space at either end and no control character',
  isCleanName,
);

/** A list of distinct non-empty strings (identifiers, audiences), optionally non-empty and bounded. */
export function IsNameList(bounds: ListBounds = {}): PropertyDecorator {
  return composed(IsStringList(bounds), MinLength(1, { each: true }), IsCleanName({ each: true }));
}

type SectionClass = () => new () => object;

/** A nested mapping of a config file, validated as `cls` (class-transformer builds it). */
export function IsMappingOf(cls: SectionClass, options?: ValidationOptions): PropertyDecorator {
  return composed(IsObject(options), ValidateNested(), Type(cls));
}

/** A list of nested mappings (`rules:`, `targets:`, …), each validated as `cls`. */
export function IsListOf(cls: SectionClass, bounds: Pick<ListBounds, 'notEmpty'> = {}): PropertyDecorator {
  return composed(IsArray(), ...(bounds.notEmpty ? [ArrayNotEmpty()] : []), ValidateNested({ each: true }), Type(cls));
}

/**
 * An optional nested section of a config file (`id_jag:`, `saml:`, …): validated as `cls` when written,
 * and a mapping, not a scalar or a list.
 */
export function IsSection(cls: SectionClass, message: string): PropertyDecorator {
  return (target, property) =>
    composed(
      ValidateIf((owner: Record<string | symbol, unknown>) => owner[property] !== undefined),
      IsMappingOf(cls, { message }),
    )(target, property);
}
