import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Fastify, { type FastifyInstance } from 'fastify';
import { Drain } from './drain.js';

describe('Drain', () => {
  let fastify: FastifyInstance;
  let base: string;
  const drain = new Drain();

  beforeAll(async () => {
    fastify = Fastify();
    drain.register(fastify);
    drain.track(fastify.server);
    fastify.get('/health/live', () => ({ status: 'live' }));
    fastify.get('/oauth/token', () => ({ served: true }));
    fastify.post('/oauth/token', () => ({ served: true }));
    fastify.setErrorHandler((error: { status?: number; headers?: Record<string, string> }, _request, reply) => {
      void reply
        .code(error.status ?? 500)
        .headers(error.headers ?? {})
        .send({ refused: true });
    });
    base = await fastify.listen({ port: 0, host: '127.0.0.1' });
    drain.begin('SIGTERM');
  });

  afterAll(() => fastify.close());

  it.each(['/health/live', '/health/%6Cive', '/health/live?probe=1'])(
    'still answers the liveness probe at %s while draining',
    async (path) => {
      const response = await fetch(`${base}${path}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: 'live' });
    },
  );

  it.each([
    ['GET', undefined],
    ['POST', undefined],
    ['POST', '{}'],
  ])('refuses a %s (body %s) to any other route while draining', async (method, body) => {
    const response = await fetch(`${base}/oauth/token`, {
      method,
      ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
    });
    expect({ status: response.status, retry: response.headers.get('retry-after') }).toEqual({
      status: 503,
      retry: '1',
    });
    expect(await response.json()).toEqual({ refused: true });
  });
});
