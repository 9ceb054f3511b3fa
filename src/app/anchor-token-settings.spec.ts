import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { loadStsConfig } from './sts-config.js';

/** Startup validation of `token_types`, `client_ids`, `introspection` (through the real loader). */

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const JWKS = {
  keys: [
    {
      kty: 'EC',
      crv: 'P-256',
      x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
      y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
    },
  ],
};
const CLIENT = (client_id: string) => ({
  client_id,
  token_endpoint_auth_method: 'client_secret_basic',
  client_secret: 'secret-0123456789abcdef',
  audiences: ['https://api.example'],
});
const INTROSPECTION = { client_id: 'actbridge', client_secret_env: 'IDP_SECRET', clients: ['svc'] };

function load(
  anchors: Record<string, Record<string, unknown>>,
  env: Record<string, string> = {},
  files: Record<string, string> = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'actbridge-anchor-settings-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'anchors'));
  for (const [name, content] of Object.entries(anchors))
    writeFileSync(join(dir, 'anchors', `${name}.yaml`), stringify(content));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, 'anchors', name), content);
  writeFileSync(join(dir, 'clients.yaml'), stringify({ clients: [CLIENT('svc'), CLIENT('portal')] }));
  return loadStsConfig(
    { TRUST_ANCHORS_DIR: join(dir, 'anchors'), CLIENTS_FILE: join(dir, 'clients.yaml'), ...env },
    'development',
  );
}
const anchor = (extra: Record<string, unknown>) => ({
  issuer: 'https://idp.example',
  audiences: ['urn:sts'],
  ...extra,
});

describe('anchor token settings', () => {
  it('defaults: token_types access_token, id_token, jwt; no mapping; no introspection', () => {
    const [loaded] = load({ idp: anchor({}) }).anchors;
    expect(loaded!.config.token_types).toEqual(['access_token', 'id_token', 'jwt']);
    expect(loaded!.config.client_ids).toEqual({});
    expect(loaded!.introspectionSecret).toBeUndefined();
  });

  it('reads the introspection secret from an environment variable, redacted when printed', () => {
    const [loaded] = load({ idp: anchor({ introspection: INTROSPECTION }) }, { IDP_SECRET: 's3cr3t-value' }).anchors;
    expect(loaded!.introspectionSecret!.reveal()).toBe('s3cr3t-value');
    expect(JSON.stringify(loaded)).not.toContain('s3cr3t-value');
    expect(loaded!.config.introspection).toMatchObject({
      auth_method: 'client_secret_basic',
      cache_ttl: 30,
      require_token_type: true,
    });
  });

  it('reads it from a file beside the anchor, without the trailing newline', () => {
    const introspection = { ...INTROSPECTION, client_secret_env: undefined, client_secret_file: 'idp.secret' };
    const [loaded] = load({ idp: anchor({ introspection }) }, {}, { 'idp.secret': 'from-file\n' }).anchors;
    expect(loaded!.introspectionSecret!.reveal()).toBe('from-file');
  });

  it('accepts string and list mappings', () => {
    const [loaded] = load({
      idp: anchor({ client_ids: { svc: 'svc-at-idp', portal: ['web-app', 'https://portal/api'] } }),
    }).anchors;
    expect(loaded!.config.client_ids).toEqual({ svc: 'svc-at-idp', portal: ['web-app', 'https://portal/api'] });
  });

  it.each<[string, Record<string, Record<string, unknown>>, Record<string, string>, RegExp]>([
    [
      'an unknown token type',
      { idp: anchor({ token_types: ['saml1'] }) },
      {},
      /token_types: each value must be one of jwt, access_token, id_token, saml2, id-jag/,
    ],
    ['an empty token_types', { idp: anchor({ token_types: [] }) }, {}, /token_types: .*should not be empty/],
    [
      'a DPoP typ as access token typ',
      { idp: anchor({ access_token_typ: ['at+jwt', 'dpop+jwt'] }) },
      {},
      /access_token_typ\[1\]: "dpop\+jwt" is a DPoP proof \(RFC 9449\), never an access token/,
    ],
    [
      'an ID-JAG typ as access token typ',
      { idp: anchor({ access_token_typ: ['application/oauth-id-jag+jwt'] }) },
      {},
      /access_token_typ\[0\]: .* is an ID-JAG/,
    ],
    [
      'a malformed mapping',
      { idp: anchor({ client_ids: { svc: 42 } }) },
      {},
      /client_ids: must map client_id to an identifier string or a list/,
    ],
    ['an empty mapping list', { idp: anchor({ client_ids: { svc: [] } }) }, {}, /client_ids: must map client_id/],
    [
      'a mapping for an unknown client',
      { idp: anchor({ client_ids: { nobody: 'x' } }) },
      {},
      /client_ids\.nobody: no client "nobody" is registered/,
    ],
    [
      'an inline introspection secret (never in an anchor file)',
      { idp: anchor({ introspection: { ...INTROSPECTION, client_secret: 'x' } }) },
      { IDP_SECRET: 's' },
      /introspection\.client_secret: property client_secret should not exist/,
    ],
    [
      'no secret source',
      { idp: anchor({ introspection: { ...INTROSPECTION, client_secret_env: undefined } }) },
      {},
      /introspection: give exactly one of client_secret_env, client_secret_file/,
    ],
    [
      'two secret sources',
      { idp: anchor({ introspection: { ...INTROSPECTION, client_secret_file: 'f' } }) },
      { IDP_SECRET: 's' },
      /introspection: give exactly one of/,
    ],
    [
      'an unset secret variable',
      { idp: anchor({ introspection: INTROSPECTION }) },
      {},
      /introspection\.client_secret_env: environment variable IDP_SECRET is not set/,
    ],
    [
      'a missing secret file',
      {
        idp: anchor({ introspection: { ...INTROSPECTION, client_secret_env: undefined, client_secret_file: 'nope' } }),
      },
      {},
      /introspection\.client_secret_file: .*nope cannot be read \(ENOENT\)/,
    ],
    [
      'a secret file that is a device (never read whole)',
      {
        idp: anchor({
          introspection: { ...INTROSPECTION, client_secret_env: undefined, client_secret_file: '/dev/zero' },
        }),
      },
      {},
      /introspection\.client_secret_file: \/dev\/zero is not a regular file/,
    ],
    [
      'introspection without access_token',
      { idp: anchor({ token_types: ['id_token'], introspection: INTROSPECTION }) },
      { IDP_SECRET: 's' },
      /token_types: must include access_token when introspection is configured/,
    ],
    [
      'static keys and no endpoint',
      { idp: anchor({ jwks: JWKS, introspection: INTROSPECTION }) },
      { IDP_SECRET: 's' },
      /introspection\.endpoint: is required when the anchor does not use discovery/,
    ],
    [
      'a plain-http endpoint',
      { idp: anchor({ introspection: { ...INTROSPECTION, endpoint: 'http://idp.example/introspect' } }) },
      { IDP_SECRET: 's' },
      /introspection\.endpoint: must be an https URL/,
    ],
    [
      'an unknown auth method',
      { idp: anchor({ introspection: { ...INTROSPECTION, auth_method: 'private_key_jwt' } }) },
      { IDP_SECRET: 's' },
      /introspection\.auth_method: must be one of/,
    ],
    [
      'a cache_ttl above 300',
      { idp: anchor({ introspection: { ...INTROSPECTION, cache_ttl: 3600 } }) },
      { IDP_SECRET: 's' },
      /introspection\.cache_ttl: must not be greater than 300/,
    ],
    [
      'no bound clients',
      { idp: anchor({ introspection: { ...INTROSPECTION, clients: [] } }) },
      { IDP_SECRET: 's' },
      /introspection\.clients: .*should not be empty/,
    ],
    [
      'an unknown bound client',
      { idp: anchor({ introspection: { ...INTROSPECTION, clients: ['nobody'] } }) },
      { IDP_SECRET: 's' },
      /introspection\.clients\[0\]: no client "nobody" is registered/,
    ],
    [
      'a client bound to two introspecting anchors (ambiguous routing)',
      {
        a: anchor({ introspection: INTROSPECTION }),
        b: anchor({ issuer: 'https://idp2.example', introspection: INTROSPECTION }),
      },
      { IDP_SECRET: 's' },
      /b\.yaml: introspection\.clients\[0\]: client "svc" is already bound to .*a\.yaml: an opaque token's issuer would be ambiguous/,
    ],
  ])('refuses %s at startup', (_name, anchors, env, message) => {
    expect(() => load(anchors, env)).toThrow(message);
  });
});
