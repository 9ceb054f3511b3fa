import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FastifyInstance } from 'fastify';
import { importJWK, jwtVerify } from 'jose';
import { joseFloor, nodeCryptoFloor } from './floor.js';
import { generateEs256Key, nowSeconds, signEs256 } from './jwt.js';
import { fixedRate } from './fixed-rate.js';
import { measureLineageCost } from './lineage-cost.js';
import { loadOnce, type ResponseStats } from './load.js';
import { ceilingPerSec, generatorCpuSeconds, serverBudgetUs } from './machine-share.js';
import { createMinimalPeer } from './minimal-peer.js';
import { PATHS, type RequestStream } from './paths.js';
import { measureReplayScale } from './replay-scale.js';
import { measureSamlCost } from './saml-cost.js';
import { samlAssertionSigner } from './saml-signer.js';
import { countLines } from './servers.js';
import { generate } from 'selfsigned';
import * as ecdsa from '../src/jose/ecdsa-signature.js';

// The harness's pieces work; no assertion on speed (the machine is shared and noisy).
const ISSUER = 'http://127.0.0.1:1/upstream';
const AUDIENCE = 'http://127.0.0.1:2/sts';

describe('bench harness', () => {
  const upstream = generateEs256Key('upstream');
  const peerKey = generateEs256Key('peer');
  let peer: FastifyInstance;
  let url: string;
  const subject = () =>
    signEs256(upstream, { iss: ISSUER, sub: 'alice', aud: AUDIENCE, exp: nowSeconds() + 300, scope: 'read' }, 'at+jwt');
  const body = (token: string) =>
    new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: token,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    }).toString();

  beforeAll(async () => {
    peer = await createMinimalPeer({
      trustedIssuer: ISSUER,
      trustedKey: upstream.publicJwk,
      audience: AUDIENCE,
      issuer: 'http://peer.example',
      signingKey: peerKey.privateJwk,
    });
    url = `${await peer.listen({ port: 0, host: '127.0.0.1' })}/token`;
  });

  afterAll(async () => {
    await peer.close();
  });

  it('the minimal peer verifies the subject token and signs a new one', async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: body(subject()),
    });
    expect(response.status).toBe(200);
    const { access_token } = (await response.json()) as { access_token: string };
    const { payload } = await jwtVerify(access_token, await importJWK(peerKey.publicJwk, 'ES256'));
    expect(payload).toMatchObject({ sub: 'alice', iss: 'http://peer.example', scope: 'read' });
  });

  it('the minimal peer refuses a token signed by another key', async () => {
    const other = generateEs256Key('other');
    const forged = signEs256(other, { iss: ISSUER, sub: 'alice', aud: AUDIENCE, exp: nowSeconds() + 300 });
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: body(forged),
    });
    expect(response.status).toBe(400);
  });

  /** Two subject tokens, sent in turn: what a load run posts to the peer. */
  const exchanges = (): RequestStream => {
    const tokens = [subject(), subject()];
    let i = 0;
    return {
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      next: () => body(tokens[i++ % 2]!),
    };
  };
  /** Every response a 2xx, none lost, and the percentiles in order. */
  const expectClean = (stats: ResponseStats): void => {
    expect(stats.non2xx).toBe(0);
    expect(stats.errors).toBe(0);
    expect(stats.p99).toBeGreaterThanOrEqual(stats.p50);
  };

  it('a one-second load run returns figures', async () => {
    const stats = await loadOnce(exchanges(), 4, 1);
    expect(stats.requests).toBeGreaterThan(0);
    expect(stats.requestsPerSec).toBeGreaterThan(0);
    // autocannon runs on this thread: its CPU is read from /proc (Linux, where the bench runs).
    expect(stats.generatorCpuPerRequestUs).toBeGreaterThan(0);
    expect(stats.storeCpuPerRequestUs).toBeNaN();
    expectClean(stats);
  });

  it('a load run charges the store meter’s difference to its requests', async () => {
    let reads = 0;
    const stats = await loadOnce(exchanges(), 2, 0.3, {
      server: () => undefined,
      store: async () => 1_000_000 + 5_000 * reads++,
    });
    expect(reads).toBe(2);
    expect(stats.storeCpuPerRequestUs).toBeCloseTo(5_000 / stats.requests);
    expect(stats.cpuPerRequestUs).toBeNaN();
  });

  it('the machine’s ceiling and the budget a rate leaves the server', () => {
    // 2 cores, 300 + 80 + 20 µs a request: 5,000/s at most; 4,000/s leaves 500 − 100 µs.
    expect(ceilingPerSec(2, { server: 300, generator: 80, store: 20 })).toBeCloseTo(5_000);
    expect(serverBudgetUs(2, 4_000, { generator: 80, store: 20 })).toBeCloseTo(400);
    expect(generatorCpuSeconds()).toBeGreaterThan(0);
  });

  it('a fixed-rate run sends at the rate asked and measures every response', async () => {
    // In this process: the child (open-loop-main.ts) runs from bench/dist, built by `npm run bench`.
    const stats = await fixedRate(exchanges(), 100, 0.5, undefined, { inProcess: true });
    expect(stats.requests).toBe(50);
    expect(stats.achievedRate).toBeGreaterThan(0);
    expect(stats.sendLagP99).toBeGreaterThanOrEqual(0);
    expectClean(stats);
  });

  it('the lineage cost: CPU per exchange and, for the memory store, the heap a live token keeps', async () => {
    const [memory, ...others] = await measureLineageCost(fileURLToPath(new URL('..', import.meta.url)), 200);
    expect(others).toEqual([]);
    expect(memory).toMatchObject({ store: 'memory', exchanges: 200 });
    expect(memory!.cpuUs).toBeGreaterThan(0);
    // An entry, its place in the indexes and its root's key: hundreds of bytes.
    expect(memory!.heapBytesPerToken).toBeGreaterThan(300);
    expect(memory!.heapBytesPerToken).toBeLessThan(3000);
  });

  it('counts a file’s lines a megabyte at a time, the last with or without its newline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'count-lines-'));
    try {
      const file = join(dir, 'audit.log');
      const line = `${'x'.repeat(999)}\n`;
      writeFileSync(file, line.repeat(3000)); // 3 MB: lines across reads of 1 MiB
      expect(countLines(file)).toBe(3000);
      writeFileSync(file, `${line.repeat(2)}last`);
      expect(countLines(file)).toBe(3);
      writeFileSync(file, '');
      expect(countLines(file)).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the floors return rates', async () => {
    expect(nodeCryptoFloor(0.1, ecdsa)).toBeGreaterThan(0);
    expect(await joseFloor(0.1)).toBeGreaterThan(0);
    expect(await joseFloor(0.1, 4)).toBeGreaterThan(0);
  });

  it('path ids are unique and the peer comes first', () => {
    const ids = PATHS.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(PATHS[0]!.server).toBe('peer');
  });

  it('measures every path: the peer first, then JWT → JWT on one process (each token new, then tokens repeated), on every core and on a baseline build, SAML on this build and the baseline', () => {
    expect(PATHS.map((p) => p.id)).toEqual([
      'peer',
      'jwt-jwt',
      'jwt-jwt-repeated',
      'jwt-jwt-workers',
      'jwt-jwt-baseline',
      'jwt-jwt-actor',
      'chain-3',
      'saml-jwt',
      'saml-jwt-baseline',
      'id-token-id-jag',
      'id-jag-jwt-bearer',
      'private-key-jwt',
    ]);
  });

  it('signs SAML assertions with a fresh ID each', async () => {
    const pems = await generate([{ name: 'commonName', value: 'idp.bench.example' }], { keySize: 2048 });
    const sign = samlAssertionSigner({
      // The repository root (this spec runs from bench/, not bench/dist/ as servers.ts's ROOT assumes).
      root: fileURLToPath(new URL('..', import.meta.url)),
      entityId: 'https://idp.bench.example/saml',
      certificate: pems.cert,
      privateKey: pems.private,
      audience: AUDIENCE,
      recipient: `${AUDIENCE}/oauth/token`,
      nameId: 'alice@example.com',
      lifetimeSec: 300,
    });
    const [a, b] = [sign(), sign()];
    const id = (xml: string) => /<saml:Assertion [^>]*ID="([^"]+)"/.exec(xml)?.[1];
    expect(id(a)).toMatch(/^_[0-9a-f-]{36}$/);
    expect(id(a)).not.toBe(id(b));
    expect(a).toContain('<ds:SignatureValue>');
    expect(a).toContain(`<saml:Audience>${AUDIENCE}</saml:Audience>`);
  });

  it('the SAML cost inputs reach the signature check: genuine ones verify, hostile ones fail only there', async () => {
    // dist/ is the build `npm test` makes first; the figures themselves are not checked (a shared machine).
    const rows = await measureSamlCost(fileURLToPath(new URL('..', import.meta.url)), 0.01, 1);
    const verdicts = Object.fromEntries(rows.map((r) => [r.id, r.verdict.replace(/: not made with .*/, '')]));
    const invalid = 'refused: signature is invalid';
    expect(verdicts).toEqual({
      fast: 'verified',
      inclusive: 'verified',
      keyname: 'verified',
      'inclusive-forged': invalid,
      large: 'verified',
      'large-inclusive': 'verified',
      elements: invalid,
      'elements-inclusive': invalid,
      'prefix-list': invalid,
      rebindings: invalid,
      'declarations-inclusive': invalid,
      deep: invalid,
      attributes: invalid,
      keyinfo: 'verified',
    });
    // Large inputs are as large as a request body allows (MAX_BODY_BYTES, 128 KiB, in base64url).
    for (const row of rows.filter((r) => r.baseline === 'large' || r.id === 'large')) {
      expect(Math.ceil((row.bytes * 4) / 3)).toBeLessThanOrEqual(131072 - 300);
    }
    expect(rows.every((r) => r.cpuUs > 0 && r.parseUs > 0)).toBe(true);
  });

  it('the replay store at scale is filled and measured on the build, every new key accepted', async () => {
    const result = await measureReplayScale(fileURLToPath(new URL('..', import.meta.url)), 10_000, 200);
    expect(result).toMatchObject({ liveKeys: 10_000, calls: 200 });
    expect(result.longestMs).toBeGreaterThan(0);
    expect(result.meanUs).toBeGreaterThan(0);
  });
});
