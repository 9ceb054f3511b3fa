import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import type { JWK } from 'jose';
import { startHttpStub } from '../support/http-stub.js';
import { useFixture, useTestApp } from '../support/fixture.js';
import { basicClient } from '../support/clients.js';
import { createTestIssuer, type TestIssuer } from '../support/test-issuer.js';
import { GRANT_TOKEN_EXCHANGE, postToken, TT } from '../support/test-app.js';

/**
 * A span per token request, child of the caller's W3C traceparent, with child spans for client
 * authentication, token validation (and the JWKS fetch it needs), policy and signing; the audit line
 * carries the trace id, with or without an OpenTelemetry SDK.
 */

const SECRET = 'agent-secret-0123456789';
const API = 'https://api.example/';

let served: { keys: JWK[] };
let first: TestIssuer;
let rotated: TestIssuer;

beforeAll(async () => {
  // One issuer, two keys: tokens signed by `rotated` make actbridge fetch the JWKS during the request.
  first = await createTestIssuer('https://traced-idp.example');
  rotated = await createTestIssuer('https://traced-idp.example');
  served = first.publicJwks;
});

const jwks = useFixture(() =>
  startHttpStub((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(served));
  }),
);
const sts = useTestApp((issuer) => ({
  anchors: { traced: { issuer: first.issuer, jwks_uri: `${jwks().url}/jwks`, audiences: [issuer] } },
  clients: [basicClient('agent', SECRET, { audiences: [API], default_audience: API })],
  env: { JWKS_COOLDOWN: '0' },
}));

afterAll(() => {
  trace.disable();
  context.disable();
});

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

async function exchange(issuer: TestIssuer, headers: Record<string, string> = {}) {
  const token = await issuer.mint({ sub: 'alice', aud: sts().issuer }, { typ: 'JWT' });
  const response = await postToken(
    sts(),
    { grant_type: GRANT_TOKEN_EXCHANGE, subject_token: token, subject_token_type: TT.jwt },
    { basic: ['agent', SECRET], headers },
  );
  return { response, line: sts().audit.lines.at(-1)! };
}

// Runs first: once an SDK is registered, the API's tracer delegates to it for the rest of the process.
describe('without an OpenTelemetry SDK', () => {
  it("carries the caller's traceparent trace id into the audit line", async () => {
    const traceId = hex(16);
    const { response, line } = await exchange(first, { traceparent: `00-${traceId}-${hex(8)}-01` });
    expect(response.status).toBe(200);
    expect(line).toMatchObject({ event: 'token.issued', trace_id: traceId });
  });

  it('gives a request without (or with a malformed) traceparent a new random trace id', async () => {
    const ids = [];
    const cases: Array<Record<string, string>> = [{}, {}, { traceparent: '00-zz-not-a-trace-01' }];
    for (const headers of cases) {
      const { line } = await exchange(first, headers);
      expect(line.trace_id).toMatch(/^[0-9a-f]{32}$/);
      expect(line.trace_id).not.toBe('0'.repeat(32));
      ids.push(line.trace_id);
    }
    expect(new Set(ids).size).toBe(3);
  });

  it.each([
    ['a token request refused before its handler (content type)', '/oauth/token', 'application/json', '{}'],
    ['an introspection', '/oauth/introspect', 'application/x-www-form-urlencoded', 'token=not-a-token'],
    ['a revocation', '/oauth/revoke', 'application/x-www-form-urlencoded', 'token=not-a-token'],
    [
      'an introspection refused at client authentication',
      '/oauth/introspect',
      'application/x-www-form-urlencoded',
      'token=x&client_id=agent&client_secret=wrong',
    ],
  ])("carries the caller's traceparent trace id into the line of %s", async (_case, path, type, body) => {
    const traceId = hex(16);
    const headers: Record<string, string> = { 'content-type': type, traceparent: `00-${traceId}-${hex(8)}-01` };
    if (!body.includes('client_secret'))
      headers.authorization = `Basic ${Buffer.from(`agent:${SECRET}`).toString('base64')}`;
    const before = sts().audit.lines.length;
    await (await fetch(`${sts().baseUrl}${path}`, { method: 'POST', headers, body })).arrayBuffer();
    expect(sts().audit.lines.length).toBe(before + 1);
    expect(sts().audit.lines.at(-1)!.trace_id).toBe(traceId);
    // Without a traceparent: a random one, as at the token endpoint.
    delete headers.traceparent;
    await (await fetch(`${sts().baseUrl}${path}`, { method: 'POST', headers, body })).arrayBuffer();
    expect(sts().audit.lines.at(-1)!.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(sts().audit.lines.at(-1)!.trace_id).not.toBe(traceId);
  });

  it('writes the caller address, user agent, latency and the issued exp into the line', async () => {
    const { response, line } = await exchange(first, { 'user-agent': 'tracing-test/1.0' });
    const now = Math.floor(Date.now() / 1000);
    expect(line).toMatchObject({ client_ip: '127.0.0.1', user_agent: 'tracing-test/1.0', anchor: 'traced' });
    expect(line.latency_ms).toEqual(expect.any(Number));
    expect(line.latency_ms as number).toBeGreaterThan(0);
    expect(Math.abs((line.exp as number) - (now + (response.body.expires_in as number)))).toBeLessThanOrEqual(2);
    expect(line).not.toHaveProperty('started');
  });
});

describe('with an SDK (in-memory exporter)', () => {
  const exporter = new InMemorySpanExporter();

  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  });

  const parentOf = (span: ReadableSpan): string | undefined =>
    (span as { parentSpanContext?: { spanId: string } }).parentSpanContext?.spanId;

  function childrenOf(spans: ReadableSpan[], parent: ReadableSpan): ReadableSpan[] {
    return spans
      .filter((s) => parentOf(s) === parent.spanContext().spanId)
      .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
  }

  it('records the span tree of an exchange that fetches the JWKS, under the caller’s trace', async () => {
    served = { keys: [...first.publicJwks.keys, ...rotated.publicJwks.keys] };
    const traceId = hex(16);
    const callerSpan = hex(8);
    exporter.reset();
    const { response, line } = await exchange(rotated, { traceparent: `00-${traceId}-${callerSpan}-01` });
    expect(response.status).toBe(200);
    expect(line.trace_id).toBe(traceId);

    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const root = spans.find((s) => s.name === 'POST /oauth/token')!;
    expect(root.kind).toBe(SpanKind.SERVER);
    expect(parentOf(root)).toBe(callerSpan);
    expect(root.attributes).toMatchObject({ 'oauth.grant_type': GRANT_TOKEN_EXCHANGE, 'oauth.client_id': 'agent' });
    expect(childrenOf(spans, root).map((s) => s.name)).toEqual([
      'authenticate client',
      'validate subject',
      'policy',
      'sign',
    ]);
    const validation = childrenOf(spans, root)[1]!;
    expect(childrenOf(spans, validation).map((s) => s.name)).toEqual(['fetch JWKS']);
    expect(spans).toHaveLength(6);
    // No span carries a token.
    const token = response.body.access_token as string;
    for (const span of spans) expect(JSON.stringify(span.attributes)).not.toContain(token.split('.')[1]);
  });

  it('marks the spans of a refusal with the OAuth error code', async () => {
    exporter.reset();
    const token = await first.mint({ sub: 'alice', aud: 'https://someone-else.example' }, { typ: 'JWT' });
    const response = await postToken(
      sts(),
      { grant_type: GRANT_TOKEN_EXCHANGE, subject_token: token, subject_token_type: TT.jwt },
      { basic: ['agent', SECRET] },
    );
    expect(response.status).toBe(400);
    const spans = exporter.getFinishedSpans();
    const root = spans.find((s) => s.name === 'POST /oauth/token')!;
    expect(root.status).toEqual({ code: SpanStatusCode.ERROR, message: 'invalid_request' });
    expect(spans.find((s) => s.name === 'validate subject')!.attributes).toMatchObject({
      'oauth.error': 'invalid_request',
    });
    expect(sts().audit.lines.at(-1)).toMatchObject({
      event: 'token.refused',
      step: 'token_validation',
      trace_id: root.spanContext().traceId,
    });
  });
});
