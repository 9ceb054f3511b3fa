import { describe, expect, it } from '@jest/globals';
import { printable } from './printable.js';

describe('printable', () => {
  it('writes control characters as \\uXXXX and leaves everything else as it is', () => {
    expect(printable('jti:a\nrevoked jti:b')).toBe('jti:a\\u000arevoked jti:b');
    expect(printable('\u001b[2J\u001b]0;title\u0007')).toBe('\\u001b[2J\\u001b]0;title\\u0007');
    expect(printable('\r\u0085\u2028')).toBe('\\u000d\\u0085\\u2028');
    expect(printable('sub:alice é 東京 "quoted" \\ back')).toBe('sub:alice é 東京 "quoted" \\ back');
  });
});
