import { describe, expect, it } from '@jest/globals';
import { ExpiryIndex } from './expiry-index.js';

const T = 1_700_000_000;

/** The keys one sweep at `now` hands over, in the order handed. */
function sweep(index: ExpiryIndex, now: number): string[] {
  const due: string[] = [];
  index.sweep(now, (key) => due.push(key));
  return due;
}

describe('ExpiryIndex', () => {
  it('hands a key over once its second has passed, never before', () => {
    const index = new ExpiryIndex(T, 10);
    index.add('a', T + 5);
    index.add('b', T + 5.5);
    index.add('c', T + 7);
    expect(sweep(index, T + 4.9)).toEqual([]);
    expect(sweep(index, T + 5)).toEqual(['a']);
    expect(sweep(index, T + 5.9)).toEqual([]);
    expect(sweep(index, T + 6).sort()).toEqual(['b']);
    expect(sweep(index, T + 6.5)).toEqual([]);
    expect(sweep(index, T + 7)).toEqual(['c']);
    expect(sweep(index, T + 100)).toEqual([]);
  });

  it('hands over at most its budget per sweep, the rest at the next sweeps', () => {
    const index = new ExpiryIndex(T, 4);
    for (let i = 0; i < 10; i++) index.add(`k${i}`, T + 2);
    const handed = [sweep(index, T + 3), sweep(index, T + 3), sweep(index, T + 3), sweep(index, T + 3)];
    expect(handed.map((keys) => keys.length)).toEqual([4, 4, 2, 0]);
    expect(handed.flat().sort()).toEqual([...Array(10).keys()].map((i) => `k${i}`).sort());
  });

  it('makes a key already past due at the next second', () => {
    const index = new ExpiryIndex(T, 10);
    index.add('past', T - 100);
    expect(sweep(index, T + 0.5)).toEqual([]);
    expect(sweep(index, T + 1)).toEqual(['past']);
  });

  it('after a long idle spell, finds every bucket due without walking each second', () => {
    const index = new ExpiryIndex(T, 1000);
    index.add('soon', T + 2);
    index.add('later', T + 40_000);
    index.add('never', T + 10_000_000);
    expect(sweep(index, T + 1_000_000).sort()).toEqual(['later', 'soon']);
    expect(sweep(index, T + 20_000_000)).toEqual(['never']);
  });

  it('hands a key indexed twice over twice: its owner decides on the expiry it now holds', () => {
    const index = new ExpiryIndex(T, 10);
    index.add('k', T + 2);
    index.add('k', T + 9);
    expect(sweep(index, T + 3)).toEqual(['k']);
    expect(sweep(index, T + 10)).toEqual(['k']);
  });
});
