import { expect, it } from '@jest/globals';

/** One test per `[input, expected]` row, titled `input → expected`: `fn(input)` is `expected`. */
export function itMaps<I, O>(fn: (input: I) => O, rows: ReadonlyArray<readonly [I, O]>): void {
  it.each(rows.map(([input, expected]) => [input, expected] as [I, O]))('%s → %s', (input, expected) => {
    expect(fn(input)).toBe(expected);
  });
}
