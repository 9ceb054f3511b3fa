import { createPrivateKey, createPublicKey, sign, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { ConfigError, holdsKeyMaterial } from '../config/config-error.js';
import { unboundedFile } from '../config/config-files.js';
import type { RunMode } from '../config/run-mode.js';
import type { ServerConfig, SigningAlgorithm } from '../config/server-config.js';

/** A published key; `privateKey` is set when actbridge can sign with it. */
export interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly publicJwk: Readonly<JWK>;
  readonly privateKey?: KeyObject;
  /** The file it was read from (absent for a generated key). */
  readonly file?: string;
}

export interface SigningKeySet {
  /** The key new tokens are signed with. */
  readonly active: SigningKey & { readonly privateKey: KeyObject };
  /** Every published key, active first: next keys (published before use) and retired ones. */
  readonly published: readonly SigningKey[];
  /** True when the active key was generated at startup because none was configured. */
  readonly ephemeral: boolean;
}

type KeysSettings = Pick<ServerConfig, 'signingKeys' | 'signingKeyId' | 'signingAlg'>;

/** Node's code for a file error, for one-line messages (`EACCES`, `EISDIR`, ...). */
function codeOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'error';
}

/**
 * The only members published (then `kid`, `alg`, `use`): the public parameters of RSA, EC and OKP keys
 * (RFC 7518 §6.2.1, §6.3.1, RFC 8037 §2) and the certificate members (RFC 7517 §4.7–4.9). An allowlist,
 * so that neither a private part under a name this list does not know nor an operator's note in the
 * file ("comment": …) reaches the JWKS; `key_ops`/`ext` describe the *private* key as exported
 * (WebCrypto writes key_ops ["sign"]) and would make verifiers refuse the public one.
 */
const PUBLISHED_MEMBERS = new Set(['kty', 'crv', 'x', 'y', 'n', 'e', 'x5c', 'x5t', 'x5t#S256']);

/** jose (and RFC 7518 §3.3) refuse to sign with shorter RSA keys: refuse them at startup instead. */
const MIN_RSA_BITS = 2048;

/**
 * Loads the signing keys named by SIGNING_KEYS (a file or a directory of `*.json` JWK/JWKS and `*.pem`
 * files); in development only, generates an ephemeral key when it is unset.
 */
export async function loadSigningKeys(settings: KeysSettings, mode: RunMode = 'production'): Promise<SigningKeySet> {
  if (settings.signingKeys === undefined) {
    if (mode !== 'development') throw new ConfigError('environment: SIGNING_KEYS: required in production');
    return generateDevelopmentKey(settings.signingAlg);
  }

  const { files, keys } = await readKeys(settings.signingKeys, settings.signingAlg);
  const active = markedActive(files, keys, settings) ?? activeBySetting(keys, settings);
  return { active, published: [active, ...keys.filter((k) => k !== active)], ephemeral: false };
}

/** Every key of SIGNING_KEYS (a file or a directory), each with the file it came from; kids unique. */
export async function readKeys(
  path: string,
  defaultAlg: SigningAlgorithm,
): Promise<{ files: string[]; keys: SigningKey[] }> {
  const keys: SigningKey[] = [];
  const files = keyFiles(path);
  for (const file of files) {
    for (const key of await readKeyFile(file, defaultAlg)) {
      if (keys.some((k) => k.kid === key.kid))
        throw new ConfigError(`${file}: duplicate kid "${key.kid}" (SIGNING_KEYS)`);
      keys.push({ ...key, file });
    }
  }
  return { files, keys };
}

type PrivateSigningKey = SigningKey & { readonly privateKey: KeyObject };

/** A key file named `*.active.json` (`.jwk`, `.pem`) marks the active key of a key directory. */
export const ACTIVE_MARK = /\.active\.(?:json|jwk|pem)$/i;

/** The key of the one `*.active.*` file, or undefined when no file is marked (SIGNING_KEY_ID decides). */
function markedActive(files: readonly string[], keys: readonly SigningKey[], settings: KeysSettings) {
  const marked = files.filter((file) => ACTIVE_MARK.test(file));
  if (marked.length === 0) return undefined;
  if (marked.length > 1) {
    throw new ConfigError(
      `${settings.signingKeys}: ${marked.map((f) => basename(f)).join(', ')} are all marked active; exactly one key file may be named *.active.json (SIGNING_KEYS)`,
    );
  }
  const file = marked[0]!;
  if (settings.signingKeyId !== undefined) {
    throw new ConfigError(
      `SIGNING_KEY_ID: set while ${file} is marked active; name the active key one way only (unset SIGNING_KEY_ID to rotate by file name)`,
    );
  }
  const inFile = keys.filter((k) => k.file === file);
  if (inFile.length !== 1 || inFile[0]!.privateKey === undefined) {
    throw new ConfigError(`${file}: an active key file holds exactly one private key (SIGNING_KEYS)`);
  }
  return inFile[0] as PrivateSigningKey;
}

/** The active key named by SIGNING_KEY_ID, or the only private key. */
function activeBySetting(keys: readonly SigningKey[], settings: KeysSettings) {
  const signing = keys.filter((k): k is PrivateSigningKey => k.privateKey !== undefined);
  if (settings.signingKeyId !== undefined) {
    const named = signing.find((k) => k.kid === settings.signingKeyId);
    if (named) return named;
    throw new ConfigError(
      `SIGNING_KEY_ID: no private key with kid "${settings.signingKeyId}" in ${settings.signingKeys} (found: ${signing.map((k) => k.kid).join(', ') || 'none'})`,
    );
  }
  if (signing.length === 1) return signing[0]!;
  throw new ConfigError(
    signing.length === 0
      ? `${settings.signingKeys}: holds no private key to sign with (SIGNING_KEYS)`
      : `SIGNING_KEY_ID: ${settings.signingKeys} holds ${signing.length} private keys; name the active one (${signing.map((k) => k.kid).join(', ')}), or mark its file *.active.json`,
  );
}

async function generateDevelopmentKey(alg: SigningAlgorithm): Promise<SigningKeySet> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const key = await fromJwk(jwk, alg, 'development key');
  return { active: key as SigningKey & { privateKey: KeyObject }, published: [key], ephemeral: true };
}

function keyFiles(path: string): string[] {
  let stat;
  try {
    stat = statSync(path);
  } catch (error) {
    // A key given inline (JWK JSON, PEM) is no path: the message must not repeat a private key into the logs.
    if (holdsKeyMaterial(path) || codeOf(error) === 'ENAMETOOLONG') {
      throw new ConfigError(
        'environment: SIGNING_KEYS: is not a path; give the path of a JWK/JWKS JSON file, a PEM file or a directory of them, not the key itself (the value is not repeated here)',
      );
    }
    throw new ConfigError(
      codeOf(error) === 'ENOENT'
        ? `${path}: does not exist (SIGNING_KEYS)`
        : `${path}: cannot be read (${codeOf(error)}) (SIGNING_KEYS)`,
    );
  }
  if (!stat.isDirectory()) return [path];
  let names: string[];
  try {
    names = readdirSync(path);
  } catch (error) {
    throw new ConfigError(`${path}: cannot be read (${codeOf(error)}) (SIGNING_KEYS)`);
  }
  const files = names
    .filter((name) => ['.json', '.jwk', '.pem'].includes(extname(name).toLowerCase()))
    .sort()
    .map((name) => join(path, name));
  if (files.length === 0) throw new ConfigError(`${path}: holds no *.json, *.jwk or *.pem file (SIGNING_KEYS)`);
  return files;
}

async function readKeyFile(file: string, defaultAlg: SigningAlgorithm): Promise<SigningKey[]> {
  let text: string;
  try {
    const unbounded = unboundedFile(file);
    if (unbounded) throw new ConfigError(`${file}: ${unbounded} (SIGNING_KEYS)`);
    // An editor's byte-order mark is no part of the JSON (config-files strips it from YAML and JWKS files too).
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${file}: cannot be read (${codeOf(error)}) (SIGNING_KEYS)`);
  }
  if (extname(file).toLowerCase() === '.pem') return [await fromPem(text, file, defaultAlg)];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError(`${file}: not valid JSON (SIGNING_KEYS)`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new ConfigError(`${file}: not a JWK or a JWK Set (SIGNING_KEYS)`);
  const jwks = Array.isArray((parsed as { keys?: unknown }).keys) ? (parsed as { keys: unknown[] }).keys : [parsed];
  const keys: SigningKey[] = [];
  for (const [i, jwk] of jwks.entries()) {
    if (typeof jwk !== 'object' || jwk === null) throw new ConfigError(`${file}: keys[${i}]: not a JWK (SIGNING_KEYS)`);
    keys.push(await fromJwk(jwk as JWK, defaultAlg, `${file}: keys[${i}]`));
  }
  return keys;
}

async function fromPem(pem: string, file: string, defaultAlg: SigningAlgorithm): Promise<SigningKey> {
  try {
    const isPrivate = /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/.test(pem);
    const key = isPrivate ? createPrivateKey(pem) : createPublicKey(pem);
    return await fromJwk(key.export({ format: 'jwk' }) as JWK, defaultAlg, file);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`${file}: not a PEM private (PKCS#8/SEC1/PKCS#1) or public (SPKI) key (SIGNING_KEYS)`);
  }
}

async function fromJwk(jwk: JWK, defaultAlg: SigningAlgorithm, where: string): Promise<SigningKey> {
  if (jwk.use !== undefined && jwk.use !== 'sig') throw new ConfigError(`${where}: "use" must be "sig" (SIGNING_KEYS)`);
  // RFC 7517 §4.3: key_ops names what the key is for; a key meant to decrypt or derive keys does not sign.
  // A public part may keep the ["sign"] of the private key it was cut from (a key retired by hand).
  const operations = jwk.d === undefined ? ['verify', 'sign'] : ['sign'];
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && operations.some((op) => jwk.key_ops!.includes(op))))
    throw new ConfigError(
      `${where}: "key_ops" must include ${operations.map((op) => `"${op}"`).join(' or ')} (SIGNING_KEYS)`,
    );
  const alg = algorithmFor(jwk, defaultAlg, where);
  const publicJwk: JWK = Object.fromEntries(Object.entries(jwk).filter(([name]) => PUBLISHED_MEMBERS.has(name)));
  let privateKey: KeyObject | undefined;
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: publicJwk as import('node:crypto').JsonWebKey, format: 'jwk' });
    if (jwk.d !== undefined) {
      privateKey = createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
    }
  } catch {
    throw new ConfigError(`${where}: not a usable ${jwk.kty} key (SIGNING_KEYS)`);
  }
  // The JWKS publishes the public members: a "d" of another key would sign tokens no published key verifies.
  if (privateKey !== undefined && !signsForItsPublicKey(privateKey, publicKey)) {
    throw new ConfigError(
      `${where}: the private key ("d") does not belong to the public key written with it (SIGNING_KEYS)`,
    );
  }
  // RFC 7517 §4.7: the first certificate's key MUST match the JWK's; verifiers that read x5c would refuse every token.
  if (jwk.x5c !== undefined && !certifiesKey(jwk.x5c, publicKey)) {
    throw new ConfigError(`${where}: x5c: its first certificate is not of this key (SIGNING_KEYS)`);
  }
  const bits = publicKey.asymmetricKeyDetails?.modulusLength;
  if (jwk.kty === 'RSA' && (bits === undefined || bits < MIN_RSA_BITS))
    throw new ConfigError(`${where}: RSA key of ${bits ?? '?'} bits; at least ${MIN_RSA_BITS} required (SIGNING_KEYS)`);
  // RFC 7517 §4.5: a kid is a string; a number or an object would be published and sent as one.
  const written: unknown = jwk.kid;
  if (written !== undefined && (typeof written !== 'string' || written === '')) {
    throw new ConfigError(`${where}: "kid" must be a non-empty string (SIGNING_KEYS)`);
  }
  const kid = jwk.kid ?? (await calculateJwkThumbprint(publicJwk, 'sha256'));
  return { kid, alg, privateKey, publicJwk: { ...publicJwk, kid, alg, use: 'sig' } };
}

/**
 * Whether what `privateKey` signs verifies with `publicKey`: a key imported from a JWK keeps the public
 * members as written (EC x/y, RSA n), so only a signature shows that they belong to its private part.
 */
function signsForItsPublicKey(privateKey: KeyObject, publicKey: KeyObject): boolean {
  const digest = privateKey.asymmetricKeyType === 'ed25519' ? null : 'sha256';
  const data = Buffer.from('actbridge signing key check');
  try {
    return verify(digest, data, publicKey, sign(digest, data, privateKey));
  } catch {
    return false;
  }
}

/** Whether `x5c` is a list of base64 DER certificates whose first one holds `publicKey`. */
function certifiesKey(x5c: unknown, publicKey: KeyObject): boolean {
  if (!Array.isArray(x5c) || typeof x5c[0] !== 'string') return false;
  try {
    return new X509Certificate(Buffer.from(x5c[0], 'base64')).publicKey.equals(publicKey);
  } catch {
    return false;
  }
}

/** The JWS algorithm of a key: its own `alg`, or the natural one for its type and curve. */
function algorithmFor(jwk: JWK, defaultAlg: SigningAlgorithm, where: string): string {
  const byType: Record<string, string[]> = {
    RSA: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
    'EC:P-256': ['ES256'],
    'EC:P-384': ['ES384'],
    'EC:P-521': ['ES512'],
    'OKP:Ed25519': ['EdDSA', 'Ed25519'],
  };
  // RFC 7517 §4.1: kty is required; a type without a curve (oct) is named as such, not "oct:undefined".
  if (typeof jwk.kty !== 'string') throw new ConfigError(`${where}: "kty" must be a key type (SIGNING_KEYS)`);
  const type = jwk.kty === 'RSA' || jwk.crv === undefined ? jwk.kty : `${jwk.kty}:${jwk.crv}`;
  const allowed = byType[type];
  if (!allowed)
    throw new ConfigError(
      `${where}: unsupported key type ${type}; use RSA, EC P-256/384/521 or Ed25519 (SIGNING_KEYS)`,
    );
  if (jwk.alg !== undefined) {
    if (!allowed.includes(jwk.alg))
      throw new ConfigError(`${where}: alg ${jwk.alg} does not fit a ${type} key (SIGNING_KEYS)`);
    return jwk.alg;
  }
  return allowed.includes(defaultAlg) ? defaultAlg : allowed[0]!;
}
