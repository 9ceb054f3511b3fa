import { describe, expect, it } from '@jest/globals';
import { randomHex128, uuid } from './uuid.js';

describe('uuid', () => {
  it('is an RFC 9562 version 4 UUID, lowercase, different every time (past the pool refill)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const id = uuid();
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(2000);
  });

  it('uses every hex digit in every random position', () => {
    const ids = Array.from({ length: 2000 }, () => uuid());
    for (const position of [0, 9, 15, 20, 35]) {
      expect(new Set(ids.map((id) => id[position])).size).toBe(16);
    }
  });
});

describe('randomHex128', () => {
  it('is 32 lowercase hex digits, different every time, never all zeros (an invalid trace id)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const id = randomHex128();
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      expect(id).not.toBe('0'.repeat(32));
      seen.add(id);
    }
    expect(seen.size).toBe(2000);
  });
});
