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

/**
 * Checks that a store held in memory forgets entries that expire in the same second `perSweep` per call,
 * after which it holds only the live ones: no request pays for forgetting them all.
 */
export async function expectForgottenInSteps(
  store: { readonly size: number },
  add: (key: string, expiresAt: number) => Promise<unknown>,
  clock: TestClock,
  perSweep: number,
): Promise<void> {
  const count = 2 * perSweep + 10;
  for (let i = 0; i < count; i++) await add(`batch-${i}`, clock.now() + 5);
  clock.advance(10);
  await add('after-1', clock.now() + 100);
  expect(store.size).toBe(count - perSweep + 1);
  await add('after-2', clock.now() + 100);
  expect(store.size).toBe(count - 2 * perSweep + 2);
  await add('after-3', clock.now() + 100);
  expect(store.size).toBe(3);
}
