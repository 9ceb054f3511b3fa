import { afterAll, beforeAll } from '@jest/globals';

/**
 * Starts `start()` in the enclosing block's beforeAll and closes it in its afterAll. Returns an accessor:
 * the value exists only once the hook has run, and `start` may use what earlier hooks set up.
 */
export function useFixture<T extends { close(): Promise<void> | void }>(start: () => Promise<T>): () => T {
  let value: T | undefined;
  beforeAll(async () => {
    value = await start();
  });
  afterAll(async () => {
    await value?.close();
  });
  return () => {
    if (value === undefined) throw new Error('fixture read before its beforeAll ran');
    return value;
  };
}
