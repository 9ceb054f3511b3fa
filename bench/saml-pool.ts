import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { SamlSignerSettings } from './saml-signer.js';

/**
 * Signs SAML assertions ahead of a measured phase on every core (worker threads running
 * saml-sign-worker.ts), so signing never competes with the server under test during a run. Each
 * assertion has a fresh ID: actbridge remembers every assertion ID it accepted (single use).
 */
export class SamlAssertionPool {
  private readonly workers: Worker[];

  constructor(settings: SamlSignerSettings, threads = availableParallelism()) {
    const file = new URL('./saml-sign-worker.js', import.meta.url);
    this.workers = Array.from({ length: Math.max(1, threads) }, () => {
      const worker = new Worker(file, { workerData: settings });
      worker.unref();
      return worker;
    });
  }

  /** `count` freshly signed, base64url-encoded assertions. */
  async sign(count: number): Promise<string[]> {
    const share = Math.ceil(count / this.workers.length);
    const parts = await Promise.all(
      this.workers.map(
        (worker, i) =>
          new Promise<string[]>((resolve, reject) => {
            const n = Math.max(0, Math.min(share, count - i * share));
            if (n === 0) return resolve([]);
            worker.once('error', reject);
            worker.once('message', (assertions: string[]) => {
              worker.off('error', reject);
              resolve(assertions);
            });
            worker.postMessage(n);
          }),
      ),
    );
    return parts.flat();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}
