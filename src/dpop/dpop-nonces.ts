import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { clock } from '../common/clock.js';

/**
 * Stateless DPoP server nonces (RFC 9449 §8): an HMAC of the current time window, so every instance
 * that shares the key issues and accepts the same nonces without shared state. A nonce is accepted
 * during its own window and the next one, i.e. for one to two windows.
 */
export class DpopNonces {
  private readonly key: Buffer;

  /**
   * @param secret key material all instances share (actbridge derives it from the active signing key
   *   with HKDF, so the signing key never leaves the process and nonces need no extra setting).
   * @param window seconds per nonce window.
   */
  constructor(
    secret: Uint8Array,
    private readonly window: number,
    private readonly now: () => number = () => clock.ms() / 1000,
  ) {
    this.key = Buffer.from(hkdfSync('sha256', secret, 'actbridge', 'dpop-nonce v1', 32));
  }

  /** The nonce to hand out now (`DPoP-Nonce` header). */
  current(): string {
    return this.nonceFor(this.windowIndex());
  }

  /** Whether `nonce` was handed out in this window or the previous one. */
  check(nonce: string): boolean {
    const presented = Buffer.from(nonce);
    const index = this.windowIndex();
    return [index, index - 1].some((i) => {
      const expected = Buffer.from(this.nonceFor(i));
      return expected.length === presented.length && timingSafeEqual(expected, presented);
    });
  }

  private windowIndex(): number {
    return Math.floor(this.now() / this.window);
  }

  private nonceFor(index: number): string {
    return createHmac('sha256', this.key).update(String(index)).digest('base64url');
  }
}
