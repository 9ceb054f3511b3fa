import { describe, expect, it } from '@jest/globals';
import { threadPoolSize } from './thread-pool-size.js';

describe('threadPoolSize', () => {
  it.each([
    [1, '2'],
    [2, '2'],
    [3, '3'],
    [4, '4'],
    [64, '4'],
  ])('%i usable core(s): %s threads', (cores, threads) => {
    expect(threadPoolSize({}, cores)).toBe(threads);
  });

  it('leaves a UV_THREADPOOL_SIZE the environment sets, whatever its value', () => {
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: '16' }, 2)).toBeUndefined();
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: '' }, 2)).toBeUndefined();
  });
});
