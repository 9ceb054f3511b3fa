import {
  constants,
  KeyObject,
  sign,
  verify,
  webcrypto,
  type SignKeyObjectInput,
  type VerifyKeyObjectInput,
} from 'node:crypto';
import cluster from 'node:cluster';
import { types } from 'node:util';
import { derToP1363, ECDSA_INTEGER_BYTES, p1363ToDer } from './ecdsa-signature.js';

/**
 * The asymmetric JWS algorithms (RFC 7518 §3, RFC 8037) as node:crypto parameters, for signing and
 * verifying on KeyObjects with node:crypto's one-shot sign/verify. Given a callback, those run on libuv's
 * thread pool like WebCrypto's, but cost about half as much CPU per signature as jose's WebCrypto calls
 * (docs/performance-notes.md), and the event loop stays free while the curve maths runs.
 */
interface JwsAlgorithm {
  /** Digest for node:crypto's sign/verify; null for EdDSA (the curve fixes it). */
  readonly digest: string | null;
  /** EC: signatures are R || S (RFC 7518 §3.4), the curve must match. */
  readonly ec?: { readonly curve: string; readonly webCryptoCurve: string };
  /** RSASSA-PSS: salt as long as the digest (RFC 7518 §3.5). */
  readonly pssSaltLength?: number;
  /** WebCrypto algorithm name a CryptoKey for this algorithm carries. */
  readonly webCryptoName: string;
}

const ALGORITHMS: Readonly<Record<string, JwsAlgorithm>> = {
  RS256: { digest: 'sha256', webCryptoName: 'RSASSA-PKCS1-v1_5' },
  RS384: { digest: 'sha384', webCryptoName: 'RSASSA-PKCS1-v1_5' },
  RS512: { digest: 'sha512', webCryptoName: 'RSASSA-PKCS1-v1_5' },
  PS256: { digest: 'sha256', pssSaltLength: 32, webCryptoName: 'RSA-PSS' },
  PS384: { digest: 'sha384', pssSaltLength: 48, webCryptoName: 'RSA-PSS' },
  PS512: { digest: 'sha512', pssSaltLength: 64, webCryptoName: 'RSA-PSS' },
  ES256: { digest: 'sha256', ec: { curve: 'prime256v1', webCryptoCurve: 'P-256' }, webCryptoName: 'ECDSA' },
  ES384: { digest: 'sha384', ec: { curve: 'secp384r1', webCryptoCurve: 'P-384' }, webCryptoName: 'ECDSA' },
  ES512: { digest: 'sha512', ec: { curve: 'secp521r1', webCryptoCurve: 'P-521' }, webCryptoName: 'ECDSA' },
  EdDSA: { digest: null, webCryptoName: 'Ed25519' },
  Ed25519: { digest: null, webCryptoName: 'Ed25519' },
};

/** Own properties only: a name such as `constructor` or `toString` is no algorithm. */
function algorithm(name: string): JwsAlgorithm | undefined {
  return Object.hasOwn(ALGORITHMS, name) ? ALGORITHMS[name] : undefined;
}

/** RFC 7518 §3.3 / §3.5: RSA keys below 2048 bits are refused (as jose does). */
const MIN_RSA_BITS = 2048;

/** Whether `key` is of the type and size `alg` requires (never trusting the token to say so). */
function fits(alg: JwsAlgorithm, key: KeyObject): boolean {
  const details = key.asymmetricKeyDetails;
  if (alg.ec) return key.asymmetricKeyType === 'ec' && details?.namedCurve === alg.ec.curve;
  if (alg.digest === null) return key.asymmetricKeyType === 'ed25519';
  return key.asymmetricKeyType === 'rsa' && (details?.modulusLength ?? 0) >= MIN_RSA_BITS;
}

/**
 * The key argument for node:crypto: the bare KeyObject wherever node:crypto's defaults are the algorithm's
 * (PKCS #1 v1.5, EdDSA, and ECDSA with the signature converted from and to DER here, ecdsa-signature.ts);
 * an options object only for RSASSA-PSS, whose padding and salt length have no default. A bare KeyObject
 * skips node:crypto's costly brand checks of an options object (ecdsa-signature.ts says why).
 */
function keyInput<T extends SignKeyObjectInput | VerifyKeyObjectInput>(
  alg: JwsAlgorithm,
  key: KeyObject,
): KeyObject | T {
  if (alg.pssSaltLength) return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: alg.pssSaltLength } as T;
  return key;
}

/** Signs a JWS signing input; resolves to the base64url signature. */
export type JwsSigner = (signingInput: string) => Promise<string>;

/** Checks a signature over a JWS signing input. */
export type JwsVerifier = (signingInput: string, signature: Buffer) => Promise<boolean>;

/**
 * Where the signature maths runs (JWS here, a SAML assertion's signature value in
 * saml/signature-value.ts). `pool`: node:crypto's callback form, on libuv's thread pool, so one
 * event loop keeps serving requests meanwhile and a single process uses more than one core (#3 and #31
 * in docs/performance-notes.md). `inline`: the synchronous form, on the event loop. A cluster worker
 * (WORKERS > 1) runs inline: the workers already use every core, and the pool would only add a hand-off
 * per signature and threads competing with the other workers' event loops (#20 in the same notes).
 */
export type CryptoThread = 'pool' | 'inline';

/** This process's placement: `inline` in a cluster worker, the pool otherwise. */
export const DEFAULT_THREAD: CryptoThread = cluster.isWorker ? 'inline' : 'pool';

/** node:crypto's one-shot `verify` on `thread`; a throw becomes a rejection on either. */
export function verifyOn(
  thread: CryptoThread,
  digest: string | null,
  data: Buffer,
  key: KeyObject | VerifyKeyObjectInput,
  signature: Buffer,
): Promise<boolean> {
  return new Promise((resolve, reject) => {
    if (thread === 'inline') return resolve(verify(digest, data, key, signature));
    verify(digest, data, key, signature, (error, valid) => (error ? reject(error) : resolve(valid)));
  });
}

/**
 * A signer for `alg` with `privateKey`. Throws at once when the key does not fit the
 * algorithm, so a misconfiguration shows at startup, not on the first token.
 */
export function jwsSigner(algName: string, privateKey: KeyObject, thread = DEFAULT_THREAD): JwsSigner {
  const alg = algorithm(algName);
  if (!alg) throw new TypeError(`unsupported JWS algorithm ${algName}`);
  if (privateKey.type !== 'private' || !fits(alg, privateKey))
    throw new TypeError(`the signing key does not fit ${algName}`);
  const input = keyInput<SignKeyObjectInput>(alg, privateKey);
  const size = alg.ec && ECDSA_INTEGER_BYTES[alg.ec.curve];
  const encode = (signature: Buffer): string => (size ? derToP1363(signature, size) : signature).toString('base64url');
  if (thread === 'inline') {
    return async (signingInput) => encode(sign(alg.digest, Buffer.from(signingInput, 'latin1'), input));
  }
  return (signingInput) =>
    new Promise((resolve, reject) =>
      sign(alg.digest, Buffer.from(signingInput, 'latin1'), input, (error, signature) => {
        if (error) return reject(error);
        try {
          resolve(encode(signature));
        } catch (cause) {
          reject(cause as Error);
        }
      }),
    );
}

/**
 * Each CryptoKey's verifiers by algorithm (null: this module cannot take that pair), made once: jose's key
 * sets hand out the same CryptoKey every time, and a key leaving its set takes its entry with it.
 */
const verifiers = new WeakMap<webcrypto.CryptoKey, Map<string, JwsVerifier | null>>();

/**
 * The verifier for `alg` with `key`, or undefined when this module cannot take it (an
 * unknown algorithm, a key of another kind, a CryptoKey not imported for exactly this algorithm, an RSA
 * key under 2048 bits): the caller then leaves the whole verification to jose.
 */
export function jwsVerifier(algName: string, key: unknown, thread = DEFAULT_THREAD): JwsVerifier | undefined {
  if (!types.isCryptoKey(key)) return undefined;
  let byAlg = verifiers.get(key);
  if (byAlg === undefined) verifiers.set(key, (byAlg = new Map()));
  const cacheKey = `${thread} ${algName}`;
  let verifier = byAlg.get(cacheKey);
  if (verifier === undefined) byAlg.set(cacheKey, (verifier = newVerifier(algName, key, thread) ?? null));
  return verifier ?? undefined;
}

function newVerifier(algName: string, key: webcrypto.CryptoKey, thread: CryptoThread): JwsVerifier | undefined {
  const alg = algorithm(algName);
  if (!alg || key.type !== 'public' || !key.usages.includes('verify')) return undefined;
  const imported = key.algorithm as { name: string; namedCurve?: string; hash?: { name: string } };
  if (imported.name !== alg.webCryptoName) return undefined;
  if (alg.ec && imported.namedCurve !== alg.ec.webCryptoCurve) return undefined;
  if (alg.digest && !alg.ec && imported.hash?.name !== `SHA-${alg.digest.slice(3)}`) return undefined;
  const keyObject = KeyObject.from(key);
  if (!fits(alg, keyObject)) return undefined;
  const input = keyInput<VerifyKeyObjectInput>(alg, keyObject);
  const size = alg.ec && ECDSA_INTEGER_BYTES[alg.ec.curve];
  // RSA: a signature of other than k octets is invalid (RFC 8017 §8.1.2, §8.2.2 step 1); OpenSSL would
  // read one with a leading zero byte dropped as the same integer.
  const rsaBytes =
    alg.ec || alg.digest === null ? undefined : Math.ceil(keyObject.asymmetricKeyDetails!.modulusLength! / 8);
  // ECDSA: R || S of the wrong length is no signature (RFC 7518 §3.4), as node:crypto's ieee-p1363 decoder says.
  const forOpenSsl = (signature: Buffer): Buffer | undefined =>
    size
      ? p1363ToDer(signature, size)
      : rsaBytes === undefined || signature.length === rsaBytes
        ? signature
        : undefined;
  return (signingInput, signature) => {
    const value = forOpenSsl(signature);
    if (value === undefined) return Promise.resolve(false);
    return verifyOn(thread, alg.digest, Buffer.from(signingInput, 'latin1'), input, value);
  };
}
