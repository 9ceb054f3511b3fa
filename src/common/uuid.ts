import { randomFillSync } from 'node:crypto';

/**
 * Random identifiers (RFC 9562 version 4 UUIDs, and 32 hex digits for W3C trace ids) as flat strings.
 * node:crypto's randomUUID returns a rope of ~40 short pieces (~490 bytes of heap, ~60 once flat):
 * a `jti` is kept by the lineage store for the token's lifetime, so that difference is per live token.
 * Written from a pool of random bytes refilled 256 identifiers at a time, as randomUUID does.
 */
const POOL_BYTES = 16 * 256;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let offset = POOL_BYTES;
const out = Buffer.allocUnsafe(36);
/** ASCII codes of the two hex digits of each byte value. */
const HEX = new Uint8Array(512);
for (let byte = 0; byte < 256; byte++) {
  const digits = byte.toString(16).padStart(2, '0');
  HEX[2 * byte] = digits.charCodeAt(0);
  HEX[2 * byte + 1] = digits.charCodeAt(1);
}
/** Where each of the 16 bytes' digits go in `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`. */
const UUID_POSITIONS = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
const HEX_POSITIONS = UUID_POSITIONS.map((_, i) => 2 * i);

function nextBytes(): number {
  if (offset === POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const start = offset;
  offset += 16;
  return start;
}

function write(start: number, positions: readonly number[]): void {
  for (let i = 0; i < 16; i++) {
    const byte = pool[start + i]!;
    out[positions[i]!] = HEX[2 * byte]!;
    out[positions[i]! + 1] = HEX[2 * byte + 1]!;
  }
}

/** A version 4 UUID (RFC 9562 §5.4): 122 random bits. */
export function uuid(): string {
  const start = nextBytes();
  pool[start + 6] = (pool[start + 6]! & 0x0f) | 0x40;
  pool[start + 8] = (pool[start + 8]! & 0x3f) | 0x80;
  write(start, UUID_POSITIONS);
  out[8] = out[13] = out[18] = out[23] = 0x2d;
  return out.toString('latin1', 0, 36);
}

/** 128 random bits as 32 lowercase hex digits (a W3C trace id when the caller sent none). */
export function randomHex128(): string {
  write(nextBytes(), HEX_POSITIONS);
  return out.toString('latin1', 0, 32);
}
