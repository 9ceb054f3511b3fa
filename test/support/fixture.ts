import { afterAll, beforeAll } from '@jest/globals';
import { freePort } from './free-port.js';
import { startTestApp, type TestApp, type TestAppOptions } from './test-app.js';

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

/** Two actbridge instances serving one issuer, as behind a load balancer. */
export interface InstancePair {
  readonly issuer: string;
  readonly a: TestApp;
  readonly b: TestApp;
}

/**
 * Starts two instances on their own ports, both with ISSUER set to one shared issuer, from
 * `options(issuer)`, in beforeAll; closes them in afterAll. Read the properties within tests.
 */
export function useInstancePair(options: (issuer: string) => Promise<TestAppOptions>): InstancePair {
  const pair = useFixture(async () => {
    const issuer = `http://127.0.0.1:${await freePort()}`;
    const config = await options(issuer);
    const shared = { ...config, env: { ...config.env, ISSUER: issuer } };
    const a = await startTestApp(shared);
    const b = await startTestApp(shared).catch(async (error: unknown) => {
      await a.close();
      throw error;
    });
    return {
      issuer,
      a,
      b,
      async close() {
        await a.close();
        await b.close();
      },
    };
  });
  return {
    get issuer() {
      return pair().issuer;
    },
    get a() {
      return pair().a;
    },
    get b() {
      return pair().b;
    },
  };
}

/**
 * Starts actbridge on a free port in beforeAll, from `options(issuer)` (the issuer it will have, for
 * audiences), and closes it in afterAll. Returns an accessor, as useFixture.
 */
export function useTestApp(options: (issuer: string) => TestAppOptions | Promise<TestAppOptions>): () => TestApp {
  return useFixture(async () => {
    const port = await freePort();
    return startTestApp({ ...(await options(`http://127.0.0.1:${port}`)), port });
  });
}
