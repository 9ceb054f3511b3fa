import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import { generate } from 'selfsigned';
import { waitFor } from '../../test/support/wait-for.js';
import { KeysUnavailableError } from './remote-jwks.js';
import { RemoteSamlMetadata } from './remote-saml-metadata.js';

const IDP = 'https://idp.example/saml';
let server: Server;
let url: URL;
let mode: 'ok' | '503' | 'other-entity' | 'hang' | 'dated' = 'ok';
let validUntil = '';
let requests = 0;
let metadata: (entityId: string) => string;

beforeAll(async () => {
  Logger.overrideLogger(false);
  const cert = (await generate([{ name: 'commonName', value: 'idp' }])).cert.replace(/-----[A-Z ]+-----|\s/g, '');
  metadata = (entityId) =>
    `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${entityId}"><IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><KeyDescriptor><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>${cert}</X509Certificate></X509Data></KeyInfo></KeyDescriptor></IDPSSODescriptor></EntityDescriptor>`;
  server = createServer((_req, res) => {
    requests++;
    res.shouldKeepAlive = false;
    if (mode === 'hang') return;
    if (mode === '503') return void res.writeHead(503).end();
    res
      .writeHead(200, { 'content-type': 'application/samlmetadata+xml' })
      .end(
        mode === 'dated'
          ? metadata(IDP).replace('<IDPSSODescriptor ', `<IDPSSODescriptor validUntil="${validUntil}" `)
          : metadata(mode === 'ok' ? IDP : 'https://x.example'),
      );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metadata`);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

// Fetches that should succeed get a generous timeout: the endpoint runs in this process, which a
// loaded machine can stall for longer than the 300 ms the hanging case waits for.
const policy = { timeoutMs: 5000, cooldownSec: 10, maxAgeSec: 60, maxStaleSec: 120 };
const hangPolicy = { ...policy, timeoutMs: 300 };

describe('RemoteSamlMetadata', () => {
  it('fetches once, then serves the cache; refreshes after maxAge; keeps the last good set until maxStale', async () => {
    mode = 'ok';
    requests = 0;
    const clock = { t: 1_000_000 };
    const remote = new RemoteSamlMetadata(url, IDP, policy, 'idp', () => clock.t);
    const first = await remote.certificates();
    expect(first).toHaveLength(1);
    await remote.certificates();
    expect(requests).toBe(1);

    mode = '503';
    clock.t += 61_000; // stale: background refresh fails, cached certificates still served
    await expect(remote.certificates()).resolves.toEqual(first);
    await waitFor(() => requests === 2, 'the background refresh at the endpoint');

    clock.t += 130_000; // past maxAge + maxStale: nothing usable any more
    await expect(remote.certificates()).rejects.toThrow(
      new KeysUnavailableError('IdP metadata unavailable: HTTP 503 from ' + url.href),
    );
  });

  // SAML Metadata §2.3.1: past its validUntil, metadata no longer vouches for its keys, fetched or cached.
  it('refuses metadata fetched past its validUntil, and a cached copy once its validUntil passes', async () => {
    mode = 'dated';
    const clock = { t: Date.parse('2027-01-15T08:00:00Z') };
    validUntil = '2027-01-15T07:00:00Z';
    const stale = new RemoteSamlMetadata(url, IDP, policy, 'idp', () => clock.t);
    await expect(stale.certificates()).rejects.toThrow(
      new KeysUnavailableError('IdP metadata unavailable: metadata expired at 2027-01-15T07:00:00.000Z (validUntil)'),
    );

    validUntil = '2027-01-15T08:00:30Z';
    const remote = new RemoteSamlMetadata(url, IDP, policy, 'idp', () => clock.t);
    expect(await remote.certificates()).toHaveLength(1);
    clock.t += 30_000; // within maxAge: the cached copy, no refetch, but its validUntil has come
    const expired = await remote.certificates().catch((error: unknown) => error);
    expect(expired).toEqual(new KeysUnavailableError('IdP metadata expired at 2027-01-15T08:00:30.000Z (validUntil)'));
    expect((expired as KeysUnavailableError).description).toBe('IdP metadata expired');
    // Not usable (readiness), and fetched again at once (outside the cooldown) rather than at maxAge:
    // the publisher's newer metadata is used as soon as it is there.
    expect(remote.usable()).toBe(false);
    validUntil = '2027-01-15T09:00:00Z';
    clock.t += 11_000;
    expect(await remote.certificates()).toHaveLength(1);
    expect(remote.usable()).toBe(true);
  });

  it('refuses metadata naming another entity, and bounds a hanging endpoint by the timeout', async () => {
    mode = 'other-entity';
    const remote = new RemoteSamlMetadata(url, IDP, policy, 'idp');
    await expect(remote.certificates()).rejects.toThrow(
      /no EntityDescriptor with entityID "https:\/\/idp.example\/saml"/,
    );

    mode = 'hang';
    const hanging = new RemoteSamlMetadata(url, IDP, hangPolicy, 'idp');
    await expect(hanging.certificates()).rejects.toThrow(
      /^IdP metadata unavailable: http:\/\/127\.0\.0\.1:\d+\/metadata: timed out after 300 ms$/,
    );
    // Within the cooldown, the next call fails at once without another request.
    const before = requests;
    await expect(hanging.certificates()).rejects.toBeInstanceOf(KeysUnavailableError);
    expect(requests).toBe(before);
  });
});
