/**
 * ECDSA signatures between the two encodings: JWS (RFC 7518 §3.4) and XMLDSig (RFC 4051 §3.3) carry
 * R || S, each a fixed-size big-endian integer; OpenSSL reads and writes an ASN.1 DER
 * `SEQUENCE { INTEGER r, INTEGER s }` (SEC 1 §C.8).
 *
 * Why here rather than node:crypto's `dsaEncoding: 'ieee-p1363'`: that option needs the key passed as an
 * options object `{ key, dsaEncoding }`, and on Node 24 node:crypto tells such an object from a
 * KeyObject by brand checks that throw and catch an error each: about 40 µs per signature or
 * verification, more than an ES256 signature itself (docs/performance-notes.md, #18). With a bare KeyObject
 * node:crypto takes its direct path, and the conversion below costs under a microsecond.
 */

/** Bytes of R and of S per curve (OpenSSL's names), for the curves JWS and XMLDSig name. */
export const ECDSA_INTEGER_BYTES: Readonly<Record<string, number>> = { prime256v1: 32, secp384r1: 48, secp521r1: 66 };

/**
 * R || S of `size` bytes each as DER, or undefined when `signature` is not exactly 2 × `size` bytes
 * (node:crypto's ieee-p1363 decoder refuses the same). The integers are encoded minimally, so OpenSSL's
 * check that a DER signature re-encodes to itself holds; an R or S of zero or not below the group order
 * is left to OpenSSL, which refuses it.
 */
export function p1363ToDer(signature: Uint8Array, size: number): Buffer | undefined {
  if (signature.length !== 2 * size) return undefined;
  const r = integerBounds(signature, 0, size);
  const s = integerBounds(signature, size, 2 * size);
  const body = r.encodedLength + s.encodedLength;
  // P-521's pair (up to 2 × 69 bytes) needs the long form of the sequence length (X.690 §8.1.3.5).
  const header = body < 0x80 ? 2 : 3;
  const der = Buffer.allocUnsafe(header + body);
  der[0] = 0x30;
  if (header === 2) der[1] = body;
  else {
    der[1] = 0x81;
    der[2] = body;
  }
  writeInteger(der, header, signature, r);
  writeInteger(der, header + r.encodedLength, signature, s);
  return der;
}

/** The DER signature OpenSSL produced as R || S of `size` bytes each. Throws on anything else. */
export function derToP1363(der: Uint8Array, size: number): Buffer {
  let at = 0;
  const byte = (): number => {
    if (at >= der.length) throw new TypeError('truncated ECDSA DER signature');
    return der[at++]!;
  };
  const length = (): number => {
    const first = byte();
    if (first < 0x80) return first;
    if (first !== 0x81) throw new TypeError('unexpected ECDSA DER length');
    return byte();
  };
  if (byte() !== 0x30) throw new TypeError('ECDSA DER signature is not a sequence');
  if (length() !== der.length - at) throw new TypeError('ECDSA DER sequence length does not match');
  const out = Buffer.alloc(2 * size);
  for (const offset of [0, size]) {
    if (byte() !== 0x02) throw new TypeError('ECDSA DER signature holds a non-integer');
    let len = length();
    if (at + len > der.length) throw new TypeError('truncated ECDSA DER integer');
    // A leading zero only keeps a positive integer's top bit clear.
    while (len > 0 && der[at] === 0) {
      at++;
      len--;
    }
    if (len > size) throw new TypeError('ECDSA DER integer larger than the curve');
    out.set(der.subarray(at, at + len), offset + size - len);
    at += len;
  }
  if (at !== der.length) throw new TypeError('trailing bytes after the ECDSA DER signature');
  return out;
}

interface IntegerBounds {
  /** First byte of the integer after its leading zeros (the last byte when it is zero). */
  readonly start: number;
  readonly end: number;
  /** A 0x00 byte before an integer whose top bit is set (DER integers are signed). */
  readonly pad: 0 | 1;
  /** Tag, length and content. */
  readonly encodedLength: number;
}

function integerBounds(bytes: Uint8Array, from: number, end: number): IntegerBounds {
  let start = from;
  while (start < end - 1 && bytes[start] === 0) start++;
  const pad = bytes[start]! & 0x80 ? 1 : 0;
  return { start, end, pad, encodedLength: 2 + pad + end - start };
}

function writeInteger(
  der: Buffer,
  at: number,
  bytes: Uint8Array,
  { start, end, pad, encodedLength }: IntegerBounds,
): void {
  der[at] = 0x02;
  der[at + 1] = encodedLength - 2;
  if (pad) der[at + 2] = 0;
  der.set(bytes.subarray(start, end), at + 2 + pad);
}
