import { expect } from '@jest/globals';

/** The test clock of a store held in memory, in epoch seconds. */
export interface TestClock {
  now(): number;
  advance(seconds: number): void;
}

/**
 * Checks that a store held in memory sweeps expired entries as it goes, so that its size follows the
 * live set: `count` entries expiring in 5 s, then, 10 s on, one more, after which it holds only that one.
 */
export async function expectExpiredSwept(
  store: { readonly size: number },
  add: (key: string, expiresAt: number) => Promise<unknown>,
  clock: TestClock,
  count: number,
): Promise<void> {
  for (let i = 0; i < count; i++) await add(`old-${i}`, clock.now() + 5);
  expect(store.size).toBe(count);
  clock.advance(10);
  await add('new', clock.now() + 5);
  expect(store.size).toBe(1);
}
