import { isIP } from 'node:net';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsObject,
  IsString,
  Matches,
  MinLength,
  registerDecorator,
  ValidateIf,
  ValidateNested,
  type ValidationOptions,
} from 'class-validator';
import { SCOPE_TOKEN } from '../oauth/scope.js';

/**
 * An http(s) URL without fragment. Plain http is accepted only for loopback hosts, so that
 * development and tests work while a deployment cannot accidentally trust keys fetched in clear.
 */
export function isSecureUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.hash || value.includes('#')) return false;
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && isLoopbackHost(url.hostname);
}

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

export const IsSecureUrl = checkedBy(
  'isSecureUrl',
  'must be an https URL without fragment (http only for localhost/127.0.0.1)',
  isSecureUrl,
);

/** A JWK Set: `{ keys: [ {...}, ... ] }` with at least one key object that has a `kty`. */
export const IsJwkSet = checkedBy('isJwkSet', 'must be a JWK Set: { keys: [ { kty: ..., ... } ] }', isJwkSet);

export function isJwkSet(value: unknown): value is { keys: Array<Record<string, unknown>> } {
  if (typeof value !== 'object' || value === null) return false;
  const keys = (value as { keys?: unknown }).keys;
  return (
    Array.isArray(keys) &&
    keys.length > 0 &&
    keys.every((k) => typeof k === 'object' && k !== null && typeof (k as { kty?: unknown }).kty === 'string')
  );
}

/** Several property decorators as one, applied as if written in this order above the property. */
function composed(...decorators: PropertyDecorator[]): PropertyDecorator {
  return (target, property) => {
    for (const decorate of [...decorators].reverse()) decorate(target, property);
  };
}

/** A list of distinct RFC 6749 scope-tokens. */
export function IsScopeList(): PropertyDecorator {
  return composed(
    IsArray(),
    ArrayUnique(),
    Matches(SCOPE_TOKEN, { each: true, message: 'each value must be an RFC 6749 scope-token' }),
  );
}

/** A list of distinct non-empty strings (identifiers, audiences), optionally non-empty and bounded. */
export function IsNameList(options: { readonly notEmpty?: boolean; readonly max?: number } = {}): PropertyDecorator {
  return composed(
    IsArray(),
    ...(options.notEmpty ? [ArrayNotEmpty()] : []),
    ArrayUnique(),
    ...(options.max === undefined ? [] : [ArrayMaxSize(options.max)]),
    IsString({ each: true }),
    MinLength(1, { each: true }),
  );
}

/**
 * An optional nested section of a config file (`id_jag:`, `saml:`, …): validated as `cls` when written,
 * and a mapping, not a scalar or a list.
 */
export function IsSection(cls: () => new () => object, message: string): PropertyDecorator {
  return (target, property) =>
    composed(
      ValidateIf((owner: Record<string | symbol, unknown>) => owner[property] !== undefined),
      IsObject({ message }),
      ValidateNested(),
      Type(cls),
    )(target, property);
}
