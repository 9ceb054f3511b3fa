import { describe, expect, it } from '@jest/globals';
import { RestartPolicy } from './restart-policy.js';

describe('RestartPolicy', () => {
  it('replaces the first death at once, then doubles the delay with each death in the window', () => {
    const policy = new RestartPolicy(5, 60_000, 100, 10_000);
    expect([0, 1, 2, 3, 4].map((i) => policy.death(i * 1000))).toEqual([0, 100, 200, 400, 800]);
  });

  it('gives up once more deaths than allowed fall within the window', () => {
    const policy = new RestartPolicy(3, 60_000);
    for (const at of [0, 10, 20]) expect(policy.death(at)).toBeDefined();
    expect(policy.death(30)).toBeUndefined();
    expect(policy.recent(30)).toBe(4);
  });

  it('forgets deaths older than the window, and caps the delay', () => {
    const policy = new RestartPolicy(3, 60_000, 100, 150);
    expect(policy.death(0)).toBe(0);
    expect(policy.death(1)).toBe(100);
    expect(policy.death(2)).toBe(150);
    expect(policy.death(70_000)).toBe(0);
    expect(policy.recent(70_000)).toBe(1);
  });
});
