import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { KeyRing } from './key-ring.js';

/**
 * Envelope encryption of what the vault stores: each record gets a fresh random data key (AES-256-GCM),
 * and that key is stored wrapped (AES-256-GCM) by a key-encryption key of the ring, named by its kid.
 * Both encryptions bind the record's identity as additional authenticated data, so a ciphertext (or a
 * wrapped key) copied onto another user's or connection's row does not decrypt. Rotating the KEK
 * re-wraps the data keys only (`rewrap`); the ciphertexts stay as they are.
 */
export interface Sealed {
  /** kid of the key-encryption key that wrapped `wrappedKey`. */
  readonly keyId: string;
  readonly wrappedKey: Buffer;
  readonly ciphertext: Buffer;
}

/** The record a sealed value belongs to, e.g. ['grant', connection, iss, sub]. */
export type Binding = readonly string[];

/** A sealed value that cannot be opened: unknown kid, another record's data, or tampering. */
export class VaultDecryptionError extends Error {
  override readonly name = 'VaultDecryptionError';
}

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export function seal(ring: KeyRing, plaintext: Buffer, binding: Binding): Sealed {
  const dataKey = randomBytes(32);
  try {
    const ciphertext = gcmEncrypt(dataKey, plaintext, aad('data', binding));
    return { keyId: ring.activeKid, wrappedKey: wrap(ring, dataKey, binding), ciphertext };
  } finally {
    dataKey.fill(0);
  }
}

export function open(ring: KeyRing, sealed: Sealed, binding: Binding): Buffer {
  const dataKey = unwrap(ring, sealed, binding);
  try {
    return gcmDecrypt(dataKey, sealed.ciphertext, aad('data', binding), 'data');
  } finally {
    dataKey.fill(0);
  }
}

/** The same ciphertext with its data key wrapped by the ring's active key. */
export function rewrap(ring: KeyRing, sealed: Sealed, binding: Binding): Sealed {
  const dataKey = unwrap(ring, sealed, binding);
  try {
    return { keyId: ring.activeKid, wrappedKey: wrap(ring, dataKey, binding), ciphertext: sealed.ciphertext };
  } finally {
    dataKey.fill(0);
  }
}

export function sealJson(ring: KeyRing, value: unknown, binding: Binding): Sealed {
  return seal(ring, Buffer.from(JSON.stringify(value), 'utf8'), binding);
}

export function openJson<T>(ring: KeyRing, sealed: Sealed, binding: Binding): T {
  return JSON.parse(open(ring, sealed, binding).toString('utf8')) as T;
}

function wrap(ring: KeyRing, dataKey: Buffer, binding: Binding): Buffer {
  return gcmEncrypt(ring.key(ring.activeKid)!, dataKey, aad('key', [ring.activeKid, ...binding]));
}

function unwrap(ring: KeyRing, sealed: Sealed, binding: Binding): Buffer {
  const kek = ring.key(sealed.keyId);
  if (!kek) throw new VaultDecryptionError(`key-encryption key "${sealed.keyId}" is not in VAULT_KEYS`);
  return gcmDecrypt(kek, sealed.wrappedKey, aad('key', [sealed.keyId, ...binding]), 'data key');
}

/** Unambiguous: JSON of the purpose and every part, so no two bindings share bytes. */
function aad(purpose: 'data' | 'key', binding: Binding): Buffer {
  return Buffer.from(JSON.stringify([`actbridge-vault/v${VERSION}/${purpose}`, ...binding]), 'utf8');
}

/** version (1 byte) | iv (12) | tag (16) | ciphertext */
function gcmEncrypt(key: Buffer, plaintext: Buffer, additional: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(additional);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.of(VERSION), iv, cipher.getAuthTag(), body]);
}

function gcmDecrypt(key: Buffer, blob: Buffer, additional: Buffer, what: string): Buffer {
  if (blob.length < 1 + IV_BYTES + TAG_BYTES || blob[0] !== VERSION) {
    throw new VaultDecryptionError(`${what}: not a version ${VERSION} envelope`);
  }
  const iv = blob.subarray(1, 1 + IV_BYTES);
  const tag = blob.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(additional);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(blob.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    throw new VaultDecryptionError(`${what}: authentication failed (wrong key, another record's data, or tampered)`);
  }
}
