import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { ConfigError, holdsKeyMaterial } from '../config/config-error.js';
import { unboundedFile } from '../config/config-files.js';
import type { ServerConfig } from '../config/server-config.js';

/** JWA `alg` of a vault key: AES-GCM key wrapping with a 256-bit key (RFC 7518 §4.7). */
export const VAULT_KEY_ALG = 'A256GCMKW';
const KEY_BYTES = 32;

/**
 * The vault's key-encryption keys (KEKs): several may be known (old ones to unwrap records written
 * before a rotation), one is active (every new or re-wrapped data key is wrapped with it). Prints as
 * its key ids only.
 */
export class KeyRing {
  readonly #keys: ReadonlyMap<string, Buffer>;

  constructor(
    keys: ReadonlyMap<string, Buffer>,
    readonly activeKid: string,
    /** Generated at startup (development without a database): forgotten on restart. */
    readonly ephemeral = false,
  ) {
    if (!keys.has(activeKid)) throw new Error(`no key ${activeKid}`);
    this.#keys = keys;
  }

  static ephemeral(): KeyRing {
    const kid = `ephemeral-${randomUUID().slice(0, 8)}`;
    return new KeyRing(new Map([[kid, randomBytes(KEY_BYTES)]]), kid, true);
  }

  get kids(): string[] {
    return [...this.#keys.keys()];
  }

  key(kid: string): Buffer | undefined {
    return this.#keys.get(kid);
  }

  toJSON(): unknown {
    return { activeKid: this.activeKid, kids: this.kids };
  }

  [inspect.custom](): string {
    return `KeyRing { active: ${this.activeKid}, kids: ${this.kids.join(', ')} }`;
  }
}

/** A new key as VAULT_KEYS takes it (`npm run vault -- generate-key`). */
export function generateVaultKey(kid: string = new Date().toISOString().slice(0, 10)): Record<string, string> {
  return { kty: 'oct', kid, alg: VAULT_KEY_ALG, use: 'enc', k: randomBytes(KEY_BYTES).toString('base64url') };
}

type KeySettings = Pick<ServerConfig, 'vaultKeys' | 'vaultKeyId'>;

/** Reads VAULT_KEYS (inline JSON, a JSON file, or a directory of `*.json` files); undefined when unset. */
export function loadKeyRing(settings: KeySettings): KeyRing | undefined {
  const source = settings.vaultKeys;
  if (source === undefined) return undefined;
  const keys = new Map<string, Buffer>();
  const inline = source.trimStart().startsWith('{');
  const documents: Array<[where: string, text: string]> = inline
    ? [['environment: VAULT_KEYS', source]]
    : files(source);
  for (const [where, text] of documents) {
    for (const [kid, key] of parseKeys(text, where)) {
      if (keys.has(kid)) throw new ConfigError(`${where}: duplicate kid "${kid}" (VAULT_KEYS)`);
      keys.set(kid, key);
    }
  }
  const kids = [...keys.keys()];
  if (kids.length === 0)
    throw new ConfigError(`${inline ? 'environment: VAULT_KEYS' : source}: holds no key (VAULT_KEYS)`);
  let active = settings.vaultKeyId;
  if (active === undefined) {
    if (kids.length > 1) {
      throw new ConfigError(
        `environment: VAULT_KEY_ID: VAULT_KEYS holds ${kids.length} keys; name the active one (${kids.join(', ')})`,
      );
    }
    active = kids[0]!;
  } else if (!keys.has(active)) {
    throw new ConfigError(
      `environment: VAULT_KEY_ID: no key with kid "${active}" in VAULT_KEYS (found: ${kids.join(', ')})`,
    );
  }
  return new KeyRing(keys, active);
}

function files(path: string): Array<[string, string]> {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    // A key set given inline in another form than a JWK object is no path: its refusal must not repeat the keys.
    if (holdsKeyMaterial(path) || code === 'ENAMETOOLONG') {
      throw new ConfigError(
        'environment: VAULT_KEYS: is neither a JWK or JWK Set object nor a path (the value is not repeated here)',
      );
    }
    throw new ConfigError(`${path}: cannot be read (${code}) (VAULT_KEYS)`);
  }
  const names = isDirectory
    ? readdirSync(path)
        .filter((name) => /\.(json|jwk)$/i.test(name))
        .sort()
        .map((name) => join(path, name))
    : [path];
  if (names.length === 0) throw new ConfigError(`${path}: holds no *.json or *.jwk file (VAULT_KEYS)`);
  return names.map((file) => {
    try {
      const unbounded = unboundedFile(file);
      if (unbounded) throw new ConfigError(`${file}: ${unbounded} (VAULT_KEYS)`);
      // An editor's byte-order mark is no part of the JSON (config-files strips it from YAML and JWKS files too).
      return [file, readFileSync(file, 'utf8').replace(/^\uFEFF/, '')];
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      throw new ConfigError(
        `${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}) (VAULT_KEYS)`,
      );
    }
  });
}

function parseKeys(text: string, where: string): Array<[string, Buffer]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError(`${where}: not valid JSON (VAULT_KEYS)`);
  }
  const list: unknown[] | undefined =
    typeof parsed === 'object' && parsed !== null && Array.isArray((parsed as { keys?: unknown }).keys)
      ? (parsed as { keys: unknown[] }).keys
      : typeof parsed === 'object' && parsed !== null && 'kty' in parsed
        ? [parsed]
        : undefined;
  if (!list) throw new ConfigError(`${where}: not a JWK or a JWK Set (VAULT_KEYS)`);
  return list.map((item, i) => {
    const at = list.length > 1 || 'keys' in (parsed as object) ? `${where}: keys[${i}]` : where;
    const jwk = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    if (jwk.kty !== 'oct') throw new ConfigError(`${at}: kty must be "oct" (VAULT_KEYS)`);
    if (jwk.kid === undefined || jwk.kid === '') throw new ConfigError(`${at}: kid is required (VAULT_KEYS)`);
    // RFC 7517 §4.5: a string; a number would be stored with each grant as something else than it was read.
    if (typeof jwk.kid !== 'string') throw new ConfigError(`${at}: kid must be a string (VAULT_KEYS)`);
    if (jwk.alg !== undefined && jwk.alg !== VAULT_KEY_ALG) {
      throw new ConfigError(`${at}: alg must be ${VAULT_KEY_ALG} (VAULT_KEYS)`);
    }
    if (jwk.use !== undefined && jwk.use !== 'enc') throw new ConfigError(`${at}: "use" must be "enc" (VAULT_KEYS)`);
    const key = typeof jwk.k === 'string' && /^[A-Za-z0-9_-]+$/.test(jwk.k) ? Buffer.from(jwk.k, 'base64url') : null;
    if (!key || key.length !== KEY_BYTES) {
      throw new ConfigError(`${at}: k must be ${KEY_BYTES} bytes, base64url (AES-256) (VAULT_KEYS)`);
    }
    return [jwk.kid, key];
  });
}
