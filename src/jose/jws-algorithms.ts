import {
  constants,
  KeyObject,
  sign,
  verify,
  webcrypto,
  type SignKeyObjectInput,
  type VerifyKeyObjectInput,
} from 'node:crypto';
import { types } from 'node:util';

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

/** RFC 7518 §3.3 / §3.5: RSA keys below 2048 bits are refused (as jose does). */
const MIN_RSA_BITS = 2048;

/** Whether `key` is of the type and size `alg` requires (never trusting the token to say so). */
function fits(alg: JwsAlgorithm, key: KeyObject): boolean {
  const details = key.asymmetricKeyDetails;
  if (alg.ec) return key.asymmetricKeyType === 'ec' && details?.namedCurve === alg.ec.curve;
  if (alg.digest === null) return key.asymmetricKeyType === 'ed25519';
  return key.asymmetricKeyType === 'rsa' && (details?.modulusLength ?? 0) >= MIN_RSA_BITS;
}

function keyInput<T extends SignKeyObjectInput | VerifyKeyObjectInput>(alg: JwsAlgorithm, key: KeyObject): T {
  if (alg.ec) return { key, dsaEncoding: 'ieee-p1363' } as T;
  if (alg.pssSaltLength) return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: alg.pssSaltLength } as T;
  return { key } as T;
}

/** Signs a JWS signing input; resolves to the base64url signature. */
export type JwsSigner = (signingInput: string) => Promise<string>;

/** Checks a signature over a JWS signing input. */
export type JwsVerifier = (signingInput: string, signature: Buffer) => Promise<boolean>;

/**
 * A signer for `alg` with `privateKey`. Throws at once when the key does not fit the
 * algorithm, so a misconfiguration shows at startup, not on the first token.
 */
export function jwsSigner(algName: string, privateKey: KeyObject): JwsSigner {
  const alg = ALGORITHMS[algName];
  if (!alg) throw new TypeError(`unsupported JWS algorithm ${algName}`);
  if (privateKey.type !== 'private' || !fits(alg, privateKey))
    throw new TypeError(`the signing key does not fit ${algName}`);
  const input = keyInput<SignKeyObjectInput>(alg, privateKey);
  return (signingInput) =>
    new Promise((resolve, reject) =>
      sign(alg.digest, Buffer.from(signingInput, 'latin1'), input, (error, signature) =>
        error ? reject(error) : resolve(signature.toString('base64url')),
      ),
    );
}

// A CryptoKey's KeyObject, converted once (jose's key sets hand out the same CryptoKey every time).
const keyObjects = new WeakMap<webcrypto.CryptoKey, KeyObject>();

/**
 * The verifier for `alg` with `key`, or undefined when this module cannot take it (an
 * unknown algorithm, a key of another kind, a CryptoKey not imported for exactly this algorithm, an RSA
 * key under 2048 bits): the caller then leaves the whole verification to jose.
 */
export function jwsVerifier(algName: string, key: unknown): JwsVerifier | undefined {
  const alg = ALGORITHMS[algName];
  if (!alg || !types.isCryptoKey(key) || key.type !== 'public' || !key.usages.includes('verify')) return undefined;
  const algorithm = key.algorithm as { name: string; namedCurve?: string; hash?: { name: string } };
  if (algorithm.name !== alg.webCryptoName) return undefined;
  if (alg.ec && algorithm.namedCurve !== alg.ec.webCryptoCurve) return undefined;
  if (alg.digest && !alg.ec && algorithm.hash?.name !== `SHA-${alg.digest.slice(3)}`) return undefined;
  let keyObject = keyObjects.get(key);
  if (!keyObject) {
    keyObject = KeyObject.from(key);
    keyObjects.set(key, keyObject);
  }
  if (!fits(alg, keyObject)) return undefined;
  const input = keyInput<VerifyKeyObjectInput>(alg, keyObject);
  return (signingInput, signature) =>
    new Promise((resolve, reject) =>
      verify(alg.digest, Buffer.from(signingInput, 'latin1'), input, signature, (error, valid) =>
        error ? reject(error) : resolve(valid),
      ),
    );
}
