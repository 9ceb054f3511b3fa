import { describe, expect, it } from '@jest/globals';
import { loadServerConfig } from '../config/server-config.js';
import { peerOrigin, playgroundEnabled } from './playground-settings.js';

describe('PLAYGROUND: on under start-dev, in production only when asked', () => {
  const enabled = (mode: 'development' | 'production', PLAYGROUND?: string) =>
    playgroundEnabled(mode, loadServerConfig(PLAYGROUND === undefined ? {} : { PLAYGROUND }, mode));

  it('defaults by mode', () => {
    expect(enabled('development')).toBe(true);
    expect(enabled('production')).toBe(false);
  });

  it('an explicit value wins in either mode', () => {
    expect(enabled('development', 'off')).toBe(false);
    expect(enabled('production', 'on')).toBe(true);
  });

  it('anything but on/off stops startup naming the variable', () => {
    expect(() => enabled('production', 'yes')).toThrow(/PLAYGROUND: .*on, off/);
  });

  it("PLAYGROUND_PEER's origin is what CORS compares (path and trailing slash dropped)", () => {
    expect(peerOrigin(loadServerConfig({ PLAYGROUND_PEER: 'https://b.example/sts/' }))).toBe('https://b.example');
    expect(peerOrigin(loadServerConfig({}))).toBeUndefined();
  });
});
