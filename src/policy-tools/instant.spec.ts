import { describe, expect, it } from '@jest/globals';
import { parseInstant } from './instant.js';

describe('parseInstant (--at, a policy test case at:)', () => {
  it('reads epoch seconds, an RFC 3339 date-time with its offset, and a date (UTC midnight)', () => {
    expect(parseInstant('1772359200')).toBe(1772359200);
    expect(parseInstant(1772359200)).toBe(1772359200);
    expect(parseInstant('2026-03-01T10:00:00Z')).toBe(1772359200);
    expect(parseInstant('2026-03-01t10:00:00.250z')).toBe(1772359200);
    expect(parseInstant('2026-03-01T12:00:00+02:00')).toBe(1772359200);
    expect(parseInstant('2026-03-01 10:00Z')).toBe(1772359200);
    expect(parseInstant('2026-03-01')).toBe(1772323200);
    expect(parseInstant(new Date('2026-03-01T10:00:00Z'))).toBe(1772359200);
  });

  it('refuses what Date.parse would guess: other formats, impossible dates and times, a time without offset', () => {
    for (const value of ['03/04/2026', ' 5', 'March 7 2026', '2026-02-30', '2026-13-01', '2026-03-01T24:00:00Z']) {
      expect(() => parseInstant(value)).toThrow(`not an ISO 8601 time or epoch seconds: ${JSON.stringify(value)}`);
    }
    expect(() => parseInstant('2026-03-01T10:00:00')).toThrow(
      'not an ISO 8601 time or epoch seconds: "2026-03-01T10:00:00" (give its offset, Z or ±hh:mm: without one it would be read in this machine\'s time zone)',
    );
  });
});
