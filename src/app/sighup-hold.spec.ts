import { describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { reloadOnSighup, type ConfigReloader } from './config-reloader.js';
import { holdSighup } from './sighup-hold.js';

describe('SIGHUP while the server starts', () => {
  it('is held (not the default action, which ends the process), then reloads once the reloader listens', () => {
    const before = process.listenerCount('SIGHUP');
    holdSighup();
    expect(process.listenerCount('SIGHUP')).toBe(before + 1);
    process.emit('SIGHUP', 'SIGHUP');
    const reload = jest.fn(async () => undefined);
    const stop = reloadOnSighup({ reload } as unknown as ConfigReloader, new Logger('test', { timestamp: false }));
    try {
      expect(reload.mock.calls).toEqual([['SIGHUP']]);
      // The hold is gone: the reloader's own listener remains, and a later SIGHUP reloads once.
      expect(process.listenerCount('SIGHUP')).toBe(before + 1);
      process.emit('SIGHUP', 'SIGHUP');
      expect(reload).toHaveBeenCalledTimes(2);
    } finally {
      stop();
    }
  });
});
