import { isIP } from 'node:net';
import { registerDecorator, type ValidationOptions } from 'class-validator';

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

export function IsTrustedProxyList(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isTrustedProxyList',
      target: target.constructor,
      propertyName: propertyName as string,
      options: {
        message: `must be comma-separated IP addresses or CIDRs, or ${NAMED_PROXY_RANGES.join(', ')}`,
        ...options,
      },
      validator: { validate: isTrustedProxyList },
    });
}

export function IsSecureUrl(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isSecureUrl',
      target: target.constructor,
      propertyName: propertyName as string,
      options: {
        message: 'must be an https URL without fragment (http only for localhost/127.0.0.1)',
        ...options,
      },
      validator: { validate: isSecureUrl },
    });
}

/** A JWK Set: `{ keys: [ {...}, ... ] }` with at least one key object that has a `kty`. */
export function IsJwkSet(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isJwkSet',
      target: target.constructor,
      propertyName: propertyName as string,
      options: { message: 'must be a JWK Set: { keys: [ { kty: ..., ... } ] }', ...options },
      validator: { validate: isJwkSet },
    });
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
