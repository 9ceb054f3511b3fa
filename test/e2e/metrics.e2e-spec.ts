import { connect } from 'node:net';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { listenManagement } from '../../src/app/app.factory.js';
import { freePort } from '../support/free-port.js';
import { startHttpStub } from '../support/http-stub.js';
import { useFixture, useTestApp } from '../support/fixture.js';
import { basicClient } from '../support/clients.js';
import { describeWithPromtool, promtool } from '../support/promtool.js';
import { createTestIssuer, type TestIssuer } from '../support/test-issuer.js';
import { GRANT_TOKEN_EXCHANGE, postToken, TT } from '../support/test-app.js';

/**
 * /metrics on the management listener: an exchange, a refusal and a JWKS failure each move their
 * series; label values come from configuration only; the exposition passes `promtool check metrics`.
 */

const SECRET = 'agent-secret-0123456789';
const API = 'https://api.example/';

let remote: TestIssuer;
let broken: TestIssuer;
let managementUrl: string;

beforeAll(async () => {
  remote = await createTestIssuer('https://remote-idp.example');
  broken = await createTestIssuer('https://broken-idp.example');
});

/** Serves remote's keys at /jwks, fails elsewhere. */
const jwks = useFixture(() =>
  startHttpStub((req, res) => {
    if (req.url === '/jwks')
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(remote.publicJwks));
    else res.writeHead(500).end('down');
  }),
);
const sts = useTestApp(async (issuer) => {
  const managementPort = await freePort();
  managementUrl = `http://127.0.0.1:${managementPort}`;
  return {
    anchors: {
      remote: { issuer: remote.issuer, jwks_uri: `${jwks().url}/jwks`, audiences: [issuer] },
      broken: { issuer: broken.issuer, jwks_uri: `${jwks().url}/down`, audiences: [issuer] },
    },
    clients: [basicClient('agent', SECRET, { audiences: [API], default_audience: API })],
    env: { JWKS_COOLDOWN: '0', MANAGEMENT_PORT: String(managementPort) },
  };
});

beforeAll(() => listenManagement(sts().app, sts().config.server));

async function scrape(): Promise<string> {
  const response = await fetch(`${managementUrl}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

/** The value of one series (exact label set as written by prom-client), or undefined. */
function sample(exposition: string, series: string): number | undefined {
  const line = exposition.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const exchange = (token: string, basic: [string, string] = ['agent', SECRET]) =>
  postToken(sts(), { grant_type: GRANT_TOKEN_EXCHANGE, subject_token: token, subject_token_type: TT.jwt }, { basic });

describe('the management listener', () => {
  it('serves /metrics and the health probes, and nothing of the token endpoint', async () => {
    expect((await fetch(`${managementUrl}/health/live`)).status).toBe(200);
    const ready = await fetch(`${managementUrl}/health/ready`);
    expect(await ready.json()).toMatchObject({ status: 'ready', trust_anchors: { configured: 2 } });
    const token = await fetch(`${managementUrl}/oauth/token`, { method: 'POST' });
    expect(token.status).toBe(405);
    expect((await fetch(`${managementUrl}/oauth/token`)).status).toBe(404);
    // The probes stay on the main port too (existing orchestrator configurations use them there).
    expect((await fetch(`${sts().baseUrl}/health/live`)).status).toBe(200);
    expect((await fetch(`${sts().baseUrl}/metrics`)).status).toBe(404);
  });

  it("answers errors in the public port's JSON, nosniff, a malformed request included", async () => {
    const missing = await fetch(`${managementUrl}/nope`);
    expect([missing.status, missing.headers.get('x-content-type-options')]).toEqual([404, 'nosniff']);
    const text = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(new URL(managementUrl).port), '127.0.0.1', () =>
        socket.end('GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'),
      );
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(text.startsWith('HTTP/1.1 400 ')).toBe(true);
    expect(text).toMatch(/\r\nx-content-type-options: nosniff\r\n/i);
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toEqual({
      error: 'invalid_request',
      error_description: 'malformed HTTP request',
    });
  });
});

describe('an exchange, a refusal and a JWKS failure move their series', () => {
  it('counts each by grant type, outcome, error code, step, anchor and client', async () => {
    const before = await scrape();
    const issued = 'actbridge_token_requests_total{grant_type="token_exchange",outcome="issued",error="none"}';
    expect(sample(before, issued)).toBe(0);

    const ok = await exchange(await remote.mint({ sub: 'alice', aud: sts().issuer }, { typ: 'JWT' }));
    expect(ok.status).toBe(200);
    const badSecret = await exchange(await remote.mint({ sub: 'alice', aud: sts().issuer }, { typ: 'JWT' }), [
      'agent',
      'wrong-secret',
    ]);
    expect({ status: badSecret.status, error: badSecret.body.error }).toEqual({ status: 401, error: 'invalid_client' });
    const noKeys = await exchange(await broken.mint({ sub: 'bob', aud: sts().issuer }, { typ: 'JWT' }));
    expect({ status: noKeys.status, error: noKeys.body.error }).toEqual({
      status: 503,
      error: 'temporarily_unavailable',
    });
    // Introspection asks the revocation store.
    const introspection = await fetch(`${sts().baseUrl}/oauth/introspect`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`agent:${SECRET}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token: ok.body.access_token as string }),
    });
    expect(await introspection.json()).toMatchObject({ active: true });

    const after = await scrape();
    expect(sample(after, issued)).toBe(1);
    expect(
      sample(
        after,
        'actbridge_token_requests_total{grant_type="token_exchange",outcome="refused",error="invalid_client"}',
      ),
    ).toBe(1);
    expect(
      sample(
        after,
        'actbridge_token_requests_total{grant_type="token_exchange",outcome="refused",error="temporarily_unavailable"}',
      ),
    ).toBe(1);
    expect(sample(after, 'actbridge_token_refusals_total{step="client_authentication",error="invalid_client"}')).toBe(
      1,
    );
    expect(
      sample(after, 'actbridge_token_refusals_total{step="token_validation",error="temporarily_unavailable"}'),
    ).toBe(1);
    expect(
      sample(after, 'actbridge_tokens_issued_total{anchor="remote",client="agent",token_type="access_token"}'),
    ).toBe(1);
    expect(sample(after, 'actbridge_token_request_duration_seconds_count{grant_type="token_exchange"}')).toBe(3);
    expect(after).toContain(
      'actbridge_token_request_duration_seconds_bucket{le="0.00025",grant_type="token_exchange"}',
    );
    // The broken anchor's JWKS: fetched at startup and again by the exchange (cooldown 0), failing each time.
    expect(
      sample(after, 'actbridge_remote_key_fetch_failures_total{anchor="broken",document="jwks"}'),
    ).toBeGreaterThanOrEqual(2);
    expect(sample(after, 'actbridge_remote_key_fetch_failures_total{anchor="remote",document="jwks"}')).toBe(0);
    expect(sample(after, 'actbridge_remote_key_fetches_total{anchor="remote",document="jwks"}')).toBeGreaterThanOrEqual(
      1,
    );
    expect(
      sample(after, 'actbridge_remote_key_set_age_seconds{anchor="remote",document="jwks"}'),
    ).toBeGreaterThanOrEqual(0);
    expect(after).not.toContain('actbridge_remote_key_set_age_seconds{anchor="broken"');
    expect(
      // The issued token's lineage, recorded with the check of its ancestors in one store step.
      sample(after, 'actbridge_store_operation_duration_seconds_count{store="lineage",operation="record"}'),
    ).toBe(1);
    // The store series' help names every store they carry, lineage included.
    expect(after).toMatch(/^# HELP actbridge_store_operation_duration_seconds .*\blineage\b/m);
    expect(after).toMatch(/^# HELP actbridge_store_errors_total .*\blineage\b/m);
    expect(after).toMatch(/^actbridge_signing_key_age_seconds\{kid="[^"]+",state="active"\} \d+/m);
    expect(after).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(after).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
  });

  it('counts a token presented again as a hit among remembered signatures', async () => {
    const hits = 'actbridge_verified_token_cache_lookups_total{result="hit"}';
    const misses = 'actbridge_verified_token_cache_lookups_total{result="miss"}';
    const before = await scrape();
    const token = await remote.mint({ sub: 'carol', aud: sts().issuer }, { typ: 'JWT' });
    expect((await exchange(token)).status).toBe(200);
    expect((await exchange(token)).status).toBe(200);
    const after = await scrape();
    expect(sample(after, misses)! - sample(before, misses)!).toBe(1);
    expect(sample(after, hits)! - sample(before, hits)!).toBe(1);
  });

  it('labels what is not configured as other/unknown: a caller cannot mint series', async () => {
    const invented = `urn:example:grant:${'x'.repeat(40)}`;
    expect((await postToken(sts(), { grant_type: invented }, { basic: ['agent', SECRET] })).body.error).toBe(
      'unsupported_grant_type',
    );
    expect((await exchange('not-a-token', ['mallory-7f3a', 'secret'])).body.error).toBe('invalid_client');
    const exposition = await scrape();
    expect(
      sample(
        exposition,
        'actbridge_token_requests_total{grant_type="other",outcome="refused",error="unsupported_grant_type"}',
      ),
    ).toBe(1);
    expect(exposition).not.toContain('x'.repeat(40));
    expect(exposition).not.toContain('mallory');
  });
});

describeWithPromtool()('promtool', () => {
  it('passes `promtool check metrics` on a real scrape', async () => {
    const { status, output } = promtool(['check', 'metrics'], await scrape());
    expect({ status, output }).toEqual({ status: 0, output: '' });
  });
});
