import { describe, expect, it } from '@jest/globals';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { derToP1363, p1363ToDer } from './ecdsa-signature.js';

// node:crypto's own ieee-p1363 encoding is the reference both directions are held to.
const CURVES = [
  { curve: 'P-256', hash: 'sha256', size: 32 },
  { curve: 'P-384', hash: 'sha384', size: 48 },
  { curve: 'P-521', hash: 'sha512', size: 66 },
] as const;

describe.each(CURVES)('ECDSA signature encodings on $curve', ({ curve, hash, size }) => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
  // Enough signatures that R or S with a top bit set, and with leading zero bytes, both occur.
  const messages = Array.from({ length: 200 }, (_, i) => Buffer.from(`message ${i}`));

  it('reads OpenSSL’s DER as the R || S node:crypto writes, and writes it back as the same DER', () => {
    for (const message of messages) {
      const der = sign(hash, message, privateKey);
      const p1363 = derToP1363(der, size);
      expect(p1363.length).toBe(2 * size);
      expect(verify(hash, message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, p1363)).toBe(true);
      expect(p1363ToDer(p1363, size)).toEqual(der);
    }
  });

  it('turns node:crypto’s R || S into DER that verifies with the bare key', () => {
    for (const message of messages.slice(0, 20)) {
      const p1363 = sign(hash, message, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      expect(verify(hash, message, publicKey, p1363ToDer(p1363, size)!)).toBe(true);
      expect(verify(hash, Buffer.from('other'), publicKey, p1363ToDer(p1363, size)!)).toBe(false);
    }
  });

  it.each([
    ['empty', 0],
    ['one byte short', 2 * size - 1],
    ['one byte long', 2 * size + 1],
    ['DER-sized', 2 * size + 8],
  ])('refuses an R || S of the wrong length (%s)', (_name, length) => {
    expect(p1363ToDer(Buffer.alloc(length, 1), size)).toBeUndefined();
  });

  it('encodes R or S of zero and all-ones minimally, and OpenSSL refuses them', () => {
    const message = messages[0]!;
    const valid = sign(hash, message, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const zeroR = Buffer.concat([Buffer.alloc(size), valid.subarray(size)]);
    const onesS = Buffer.concat([valid.subarray(0, size), Buffer.alloc(size, 0xff)]);
    const der = p1363ToDer(zeroR, size)!;
    expect(der.subarray(2, 5)).toEqual(Buffer.from([0x02, 0x01, 0x00]));
    for (const forged of [zeroR, onesS]) {
      expect(verify(hash, message, publicKey, p1363ToDer(forged, size)!)).toBe(false);
      expect(verify(hash, message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, forged)).toBe(false);
    }
  });
});

describe('derToP1363 refuses what OpenSSL never writes', () => {
  it.each([
    ['not a sequence', [0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]],
    ['sequence length off', [0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]],
    ['a non-integer', [0x30, 0x06, 0x04, 0x01, 0x01, 0x02, 0x01, 0x01]],
    ['one integer', [0x30, 0x03, 0x02, 0x01, 0x01]],
    ['truncated integer', [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x05, 0x01]],
    ['trailing bytes', [0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00]],
    ['an integer wider than the curve', [0x30, 0x26, 0x02, 0x21, ...Array(33).fill(1), 0x02, 0x01, 0x01]],
    ['a length in more than one byte', [0x30, 0x82, 0x00, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]],
  ])('%s', (_name, bytes) => {
    expect(() => derToP1363(Buffer.from(bytes), 32)).toThrow(TypeError);
  });
});
