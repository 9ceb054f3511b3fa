import { describe, expect, it } from '@jest/globals';
import { DpopNonces } from './dpop-nonces.js';

describe('DpopNonces', () => {
  const secret = Buffer.from('shared key material of the instances');
  let t = 1_800_000_000;
  const nonces = new DpopNonces(secret, 300, () => t);

  it('a nonce is accepted in its window and the next, then refused', () => {
    t = 1_800_000_100;
    const nonce = nonces.current();
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(nonces.check(nonce)).toBe(true);
    t += 300;
    expect(nonces.check(nonce)).toBe(true);
    expect(nonces.current()).not.toBe(nonce);
    t += 300;
    expect(nonces.check(nonce)).toBe(false);
  });

  it('instances sharing the secret agree; another secret does not', () => {
    const peer = new DpopNonces(Buffer.from(secret), 300, () => t);
    const stranger = new DpopNonces(Buffer.from('other key material'), 300, () => t);
    expect(peer.check(nonces.current())).toBe(true);
    expect(stranger.check(nonces.current())).toBe(false);
  });

  it.each(['', 'x', 'a'.repeat(43), '#'.repeat(100)])('refuses %j', (nonce) => {
    expect(nonces.check(nonce)).toBe(false);
  });
});
