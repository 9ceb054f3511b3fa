import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { attachAuditRecord, newAuditRecord } from '../audit/audit-record.js';
import type { AuditTrail } from '../audit/audit-trail.js';
import type { OAuthError } from '../oauth/oauth-error.js';
import { Drain } from './drain.js';
import { OAuthExceptionFilter } from './oauth-exception.filter.js';

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

describe('Drain at its deadline', () => {
  let fastify: FastifyInstance;
  let base: string;
  const drain = new Drain();
  const lines: Array<{ endpoint: string; reason: unknown; error: unknown }> = [];
  const audit = {
    refused: (_record: unknown, error: OAuthError, _step: unknown, endpoint: string) =>
      lines.push({ endpoint, error: error.error, reason: error.detail }),
  } as unknown as AuditTrail;

  beforeAll(async () => {
    fastify = Fastify();
    drain.register(fastify);
    drain.track(fastify.server);
    const filter = new OAuthExceptionFilter(audit);
    fastify.setErrorHandler((error, request, reply) => filter.respond(error, request, reply));
    // Handlers that never end (a provider that does not answer), the record attached as the routes do.
    const hanging = (request: FastifyRequest) => {
      attachAuditRecord(request, newAuditRecord(request));
      return new Promise(() => {});
    };
    fastify.post('/oauth/token', { config: { audited: true } }, hanging);
    fastify.get('/vault/callback', { config: { audited: 'vault.callback' } }, hanging);
    base = await fastify.listen({ port: 0, host: '127.0.0.1' });
  });

  afterAll(() => fastify.close());

  it('answers every request still running 503 and audits each, a vault one included', async () => {
    const answers = [
      fetch(`${base}/oauth/token`, { method: 'POST' }),
      fetch(`${base}/vault/callback?code=x&state=y`),
    ].map(async (pending) => {
      const response = await pending;
      return {
        status: response.status,
        retry: response.headers.get('retry-after'),
        connection: response.headers.get('connection'),
        body: await response.json(),
      };
    });
    while (drain.inFlight < 2) await new Promise((r) => setTimeout(r, 10));
    drain.begin('SIGTERM');
    expect(drain.cutInFlight()).toBe(2);
    const refusal = {
      status: 503,
      retry: '1',
      connection: 'close',
      body: { error: 'temporarily_unavailable', error_description: 'the server is shutting down; retry the request' },
    };
    expect(await Promise.all(answers)).toEqual([refusal, refusal]);
    const reason = 'cut at the drain deadline (SIGTERM)';
    expect(lines).toEqual([
      { endpoint: 'token', error: 'temporarily_unavailable', reason },
      { endpoint: 'vault.callback', error: 'temporarily_unavailable', reason },
    ]);
  });
});
