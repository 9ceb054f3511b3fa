import { describe, expect, it } from '@jest/globals';
import { Generation, LiveConfig, Slot } from './live-config.js';

const NAME = new Slot<string>('name');
const SIZE = new Slot<number>('size');

describe('LiveConfig', () => {
  it('a request pinned before a swap reads its generation to the end; new requests read the new one', async () => {
    const live = new LiveConfig(
      new Generation(1, [
        [NAME, 'old'],
        [SIZE, 1],
      ]),
    );
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const inFlight = live.pin(async () => {
      const before = live.read(NAME);
      await gate;
      return [before, live.read(NAME), live.read(SIZE)];
    });
    live.swap(live.generation.with(2, [[NAME, 'new']]));
    expect(await live.pin(async () => [live.read(NAME), live.read(SIZE)])).toEqual(['new', 1]);
    expect(live.read(NAME)).toBe('new');
    release();
    expect(await inFlight).toEqual(['old', 'old', 1]);
    expect(live.generation.id).toBe(2);
  });

  it('a slot that was never filled is a programming error', () => {
    expect(() => new Generation(1, []).get(NAME)).toThrow('configuration slot name is not filled');
  });
});
