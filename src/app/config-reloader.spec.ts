import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { MemoryAuditSink } from '../audit/audit-sink.js';
import { AuditTrail } from '../audit/audit-trail.js';
import { CLIENTS } from '../clients/client-registry.js';
import { ANCHORS } from '../trust-anchors/anchor-index.js';
import { loadStartupState } from './app.factory.js';
import { ConfigReloader, type ReloadEvent } from './config-reloader.js';
import { loadStsConfig } from './sts-config.js';

const jwk = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
const anchor = (issuer: string, fields: object = {}) =>
  stringify({ issuer, audiences: ['urn:sts'], jwks: { keys: [jwk()] }, ...fields });
const client = (id: string) => ({
  client_id: id,
  token_endpoint_auth_method: 'client_secret_basic',
  client_secret: `${id}-secret-0123456789`,
  audiences: ['https://api.example'],
});

describe('ConfigReloader', () => {
  let dir: string;
  let reloader: ConfigReloader;
  let live: Awaited<ReturnType<typeof loadStartupState>>['live'];
  const audit = new MemoryAuditSink();
  const events: ReloadEvent[] = [];
  const write = (name: string, text: string) => writeFileSync(join(dir, name), text);

  beforeAll(async () => {
    Logger.overrideLogger(false);
    dir = mkdtempSync(join(tmpdir(), 'actbridge-reload-'));
    mkdirSync(join(dir, 'anchors'));
    write('anchors/a.yaml', anchor('https://a.example'));
    write('clients.yaml', stringify({ clients: [client('one')] }));
    write(
      'key.json',
      JSON.stringify({
        ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }),
        kid: 'k1',
      }),
    );
    const env = {
      ISSUER: 'https://sts.example',
      TRUST_ANCHORS_DIR: join(dir, 'anchors'),
      CLIENTS_FILE: join(dir, 'clients.yaml'),
      SIGNING_KEYS: join(dir, 'key.json'),
    };
    const config = loadStsConfig(env, 'development');
    const state = await loadStartupState(config);
    live = state.live;
    reloader = new ConfigReloader(state.startup, live, new AuditTrail(audit));
    reloader.observe({ onReload: (event) => events.push(event) });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('swaps in a valid change, reports it to observers and audits it; unchanged anchors keep their runtime object', async () => {
    const before = live.generation;
    const a = before.get(ANCHORS).byName.get('a')!.anchor;
    write('anchors/b.yaml', anchor('https://b.example'));
    write('clients.yaml', stringify({ clients: [client('one'), client('two')] }));
    const event = await reloader.reload('manual');
    const changes = {
      anchors: { added: ['b'], removed: [], changed: [] },
      clients: { added: ['two'], removed: [], changed: [] },
      keys: { added: [], removed: [] },
    };
    expect(event).toEqual({ outcome: 'success', trigger: 'manual', changes });
    expect(events.at(-1)).toBe(event);
    expect(live.generation.id).toBe(before.id + 1);
    expect(live.read(CLIENTS).find('two')).toBeDefined();
    expect(live.read(ANCHORS).byName.get('a')!.anchor).toBe(a);
    expect(live.read(ANCHORS).created.map((x) => x.name)).toEqual(['b']);
    expect(audit.lines.at(-1)).toEqual({
      ts: expect.any(String),
      event: 'config.reloaded',
      outcome: 'reloaded',
      trigger: 'manual',
      generation: before.id + 1,
      changes,
    });
  });

  it('an anchor file changed: a new runtime object, reported as changed', async () => {
    write('anchors/b.yaml', anchor('https://b.example', { clock_skew: 5 }));
    const event = await reloader.reload();
    expect(event).toMatchObject({ outcome: 'success', changes: { anchors: { changed: ['b'] } } });
  });

  it('an invalid change: the configuration in force stays, observers hear the error, nothing is audited', async () => {
    const before = live.generation;
    const lines = audit.lines.length;
    write('clients.yaml', stringify({ clients: [client('one'), client('one')] }));
    const event = await reloader.reload('SIGHUP');
    expect(event).toEqual({
      outcome: 'failure',
      trigger: 'SIGHUP',
      error: `${join(dir, 'clients.yaml')}: clients[1].client_id: duplicate client_id "one"`,
    });
    expect(live.generation).toBe(before);
    expect(audit.lines).toHaveLength(lines);
    write('clients.yaml', stringify({ clients: [client('one'), client('two')] }));
  });

  it('a bare key (YAML null) in an anchor: refused naming file and field, not with a TypeError', async () => {
    const before = live.generation;
    const text = readFileSync(join(dir, 'anchors/a.yaml'), 'utf8');
    write('anchors/a.yaml', `${text}rules:\n`);
    const event = await reloader.reload('SIGHUP');
    write('anchors/a.yaml', text);
    expect(event).toEqual({
      outcome: 'failure',
      trigger: 'SIGHUP',
      error: `${join(dir, 'anchors/a.yaml')}: rules: has no value; write one, or leave the key out for the default`,
    });
    expect(live.generation).toBe(before);
  });

  it('an anchor that would lengthen the replay store window needs a restart', async () => {
    write(
      'anchors/c.yaml',
      anchor('https://c.example', { jwt_bearer: { jti: 'single_use', max_age: 3000, subjects: ['*'] } }),
    );
    const event = await reloader.reload();
    expect(event.outcome).toBe('failure');
    expect(event).toMatchObject({
      error: expect.stringMatching(
        /: the longest single-use window grows from \d+ s to 3061 s .*; restart actbridge to apply it$/,
      ),
    });
    rmSync(join(dir, 'anchors/c.yaml'));
  });

  it('a keys-only re-read that finds nothing new is not a reload', async () => {
    const before = live.generation;
    expect(await reloader.reloadKeys()).toBeUndefined();
    expect(live.generation).toBe(before);
  });
});
