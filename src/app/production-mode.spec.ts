import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../config/config-error.js';
import { loadStsConfig } from './sts-config.js';
import { thrownMessage } from '../../test/support/errors.js';

const HASH = '$scrypt$ln=15,r=8,p=1$IyzQ3FdSIcELzuWGbOYT9A$YCRur73xcSy0M3ywCNjY1eeASkVWWKWEB2hRrIpy8lw';
const JWKS = JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] });
const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface Setup {
  readonly anchor?: string;
  readonly client?: string;
}

/** A configuration directory that is valid in production unless a part is replaced. */
function setup({ anchor, client }: Setup = {}): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'actbridge-prod-'));
  dirs.push(dir);
  const anchors = join(dir, 'trust-anchors');
  mkdirSync(anchors);
  writeFileSync(join(anchors, 'idp.jwks.json'), JWKS);
  writeFileSync(
    join(anchors, 'idp.yaml'),
    anchor ?? 'issuer: https://idp.example.com\naudiences: [https://sts.example.com]\njwks_file: idp.jwks.json\n',
  );
  writeFileSync(
    join(dir, 'clients.yaml'),
    `clients:\n  - client_id: gw\n    token_endpoint_auth_method: client_secret_basic\n    ${
      client ?? `client_secret_hash: ${HASH}`
    }\n    audiences: [https://api.example.com]\n`,
  );
  writeFileSync(join(dir, 'key.json'), '{}');
  return {
    TRUST_ANCHORS_DIR: anchors,
    CLIENTS_FILE: join(dir, 'clients.yaml'),
    SIGNING_KEYS: join(dir, 'key.json'),
  };
}

/** Why production refuses `env`. */
function refusal(env: Record<string, string>): string {
  return thrownMessage(() => loadStsConfig(env, 'production'), ConfigError);
}

describe('production mode (actbridge serve)', () => {
  it('accepts a configuration with signing keys, hashed secrets and real anchors', () => {
    const config = loadStsConfig(setup(), 'production');
    expect(config.mode).toBe('production');
    expect(config.server.issuer).toBe('http://localhost:8080');
  });

  it('refuses a management listener on the main port; MANAGEMENT_PORT=0 turns it off', () => {
    expect(refusal({ ...setup(), PORT: '8080', MANAGEMENT_PORT: '8080' })).toBe(
      'environment: MANAGEMENT_PORT (8080) must differ from PORT, or be 0 (off)',
    );
    expect(loadStsConfig({ ...setup(), MANAGEMENT_PORT: '0' }, 'production').server.managementPort).toBe(0);
    expect(loadStsConfig(setup(), 'production').server).toMatchObject({
      managementPort: 9000,
      managementHost: '127.0.0.1',
    });
  });

  it('refuses to start without signing keys, in one line naming the variable', () => {
    const env = setup();
    delete env.SIGNING_KEYS;
    expect(refusal(env)).toBe(
      'environment: SIGNING_KEYS: required in production (a JWK/JWKS/PEM file or a directory of them); `npm start` runs the development defaults',
    );
  });

  it('names a misspelt setting and what it looks like', () => {
    const env = setup();
    env.SIGNING_KEY = env.SIGNING_KEYS!;
    delete env.SIGNING_KEYS;
    expect(refusal(env)).toBe(
      'refusing to start in production:\n' +
        '  environment: SIGNING_KEY is not an actbridge setting; did you mean SIGNING_KEYS?\n' +
        '  environment: SIGNING_KEYS: required in production (a JWK/JWKS/PEM file or a directory of them); `npm start` runs the development defaults',
    );
  });

  it('refuses a misspelt setting even when everything else is in place', () => {
    expect(refusal({ ...setup(), MAX_TOKEN_TL: '60' })).toBe(
      'environment: MAX_TOKEN_TL is not an actbridge setting; did you mean MAX_TOKEN_TTL?',
    );
  });

  it('leaves alone a variable an anchor names for its secret', () => {
    const anchor =
      'issuer: https://idp.example.com\naudiences: [https://sts.example.com]\ntoken_types: [jwt, access_token]\n' +
      'introspection: { client_id: sts, client_secret_env: SIGNING_KEYZ, clients: [gw] }\n';
    expect(() => loadStsConfig({ ...setup({ anchor }), SIGNING_KEYZ: 'secret' }, 'production')).not.toThrow();
  });

  it('refuses a development_only anchor, naming its file', () => {
    const env = setup({
      anchor: 'issuer: https://idp.example.com\naudiences: [x]\njwks_file: idp.jwks.json\ndevelopment_only: true\n',
    });
    expect(refusal(env)).toBe(
      `${join(env.TRUST_ANCHORS_DIR!, 'idp.yaml')}: development_only: a development anchor (its private key may be public) cannot be trusted in production; remove the file`,
    );
  });

  it('refuses a plaintext client secret, naming the file and the client', () => {
    const env = setup({ client: 'client_secret: a-plaintext-secret-of-some-length' });
    expect(refusal(env)).toBe(
      `${env.CLIENTS_FILE}: clients[0].client_secret: plaintext secret for "gw"; use client_secret_hash (npm run hash-secret)`,
    );
  });

  it('refuses a non-loopback HOST without ISSUER', () => {
    expect(refusal({ ...setup(), HOST: '0.0.0.0' })).toBe(
      'environment: ISSUER: required when HOST (0.0.0.0) is not a loopback address; tokens would name http://localhost as their issuer',
    );
    expect(loadStsConfig({ ...setup(), HOST: '::1' }, 'production').server.issuer).toBe('http://localhost:8080');
    expect(
      loadStsConfig({ ...setup(), HOST: '0.0.0.0', ISSUER: 'https://sts.example.com' }, 'production').server.issuer,
    ).toBe('https://sts.example.com');
  });

  it('requires ISSUER with PORT=0: the port is chosen at listen, the derived issuer would name port 0', () => {
    expect(refusal({ ...setup(), PORT: '0' })).toBe(
      'environment: ISSUER: required when PORT is 0 (a port chosen at listen); tokens would name http://localhost:0 as their issuer',
    );
    expect(loadStsConfig({ ...setup(), PORT: '0', ISSUER: 'https://sts.example.com' }, 'production').server.port).toBe(
      0,
    );
  });

  it.each(['http://sts.example.com', 'http://10.0.0.1:8080'])('refuses a plaintext ISSUER %s', (issuer) => {
    expect(refusal({ ...setup(), ISSUER: issuer })).toBe(
      'environment: ISSUER: must be an https URL without user info or fragment (http only for localhost/127.0.0.1)',
    );
  });

  // The URL parser reads each as https://sts.example.com/; tokens would carry the value as written.
  // RFC 3986 §3.2.1: user info in an ISSUER would be published in every token's iss.
  it.each(['https://admin:hunter2@sts.example.com', 'https://admin@sts.example.com'])(
    'refuses an ISSUER with user info: %s',
    (issuer) => {
      expect(refusal({ ...setup(), ISSUER: issuer })).toBe(
        'environment: ISSUER: must be an https URL without user info or fragment (http only for localhost/127.0.0.1)',
      );
    },
  );

  it.each(['https:/sts.example.com', 'https:sts.example.com', 'https:\\\\sts.example.com', 'https:///sts.example.com'])(
    'refuses an ISSUER written without "//" and an authority: %s',
    (issuer) => {
      expect(refusal({ ...setup(), ISSUER: issuer })).toBe(
        'environment: ISSUER: must be an https URL without user info or fragment (http only for localhost/127.0.0.1)',
      );
    },
  );

  it('lists every cause, one line each, when there are several', () => {
    const env = setup({ client: 'client_secret: a-plaintext-secret-of-some-length' });
    delete env.SIGNING_KEYS;
    expect(refusal(env).split('\n')).toEqual([
      'refusing to start in production:',
      expect.stringContaining('SIGNING_KEYS: required'),
      expect.stringContaining('clients[0].client_secret: plaintext secret'),
    ]);
  });

  it('development mode accepts all of it (start-dev)', () => {
    const env = setup({ client: 'client_secret: a-plaintext-secret-of-some-length' });
    delete env.SIGNING_KEYS;
    expect(loadStsConfig({ ...env, HOST: '0.0.0.0' }, 'development').mode).toBe('development');
  });
});

describe('configuration messages', () => {
  it('one message per field: the kind of value first, not its consequences', () => {
    expect(refusal({ ...setup(), PORT: 'abc' })).toBe('environment: PORT: must be an integer number');
    expect(refusal({ ...setup(), TOKEN_TTL: '1.5' })).toBe('environment: TOKEN_TTL: must be an integer number');
    // Not also ISSUER's, which is derived from PORT when unset.
    expect(refusal({ ...setup(), PORT: '99999' })).toBe('environment: PORT: must not be greater than 65535');
  });

  // Such a HOST was blamed on ISSUER (a space is not loopback), or passed validate and failed at listen.
  it.each([
    ['HOST', ' '],
    ['HOST', '0.0.0.0 '],
    ['HOST', '10.0.0.1,10.0.0.2'],
    ['MANAGEMENT_HOST', 'not a host'],
  ])('refuses %s=%j in one line naming it', (name, value) => {
    expect(refusal({ ...setup(), ISSUER: 'https://sts.example.com', [name]: value })).toBe(
      `environment: ${name}: must be an IP address or a host name`,
    );
    if (name === 'HOST') {
      expect(refusal({ ...setup(), HOST: value })).toBe('environment: HOST: must be an IP address or a host name');
    }
  });

  it.each(['0.0.0.0', '::', 'localhost', 'sts-1.internal', 'fd00::1'])('accepts HOST=%s', (host) => {
    expect(loadStsConfig({ ...setup(), ISSUER: 'https://sts.example.com', HOST: host }, 'production').server.host).toBe(
      host,
    );
  });

  // docs/keys.md: the lead must exceed jose's 30 s refetch cooldown, or a new key signs before verifiers see it.
  it('refuses a publish lead a resource server could miss the new key within, and accepts one beyond it', () => {
    expect(refusal({ ...setup(), SIGNING_KEYS_PUBLISH_LEAD: '30' })).toBe(
      'environment: SIGNING_KEYS_PUBLISH_LEAD (30) must exceed 30 in production: resource servers refetch a JWKS on an unknown kid at most every 30 s',
    );
    expect(
      loadStsConfig({ ...setup(), SIGNING_KEYS_PUBLISH_LEAD: '31' }, 'production').server.signingKeysPublishLead,
    ).toBe(31);
    expect(
      loadStsConfig({ ...setup(), SIGNING_KEYS_PUBLISH_LEAD: '2' }, 'development').server.signingKeysPublishLead,
    ).toBe(2);
  });

  // Node runs a timer beyond 2^31-1 ms after 1 ms: a month's interval re-read the keys 1000 times a second.
  it.each([
    ['SIGNING_KEYS_RELOAD_INTERVAL', '2592000', 'must not be greater than 86400'],
    ['UPSTREAM_TIMEOUT_MS', '3000000000', 'must not be greater than 600000'],
  ])('refuses %s=%s, which a timer would run after 1 ms', (name, value, message) => {
    expect(refusal({ ...setup(), [name]: value })).toBe(`environment: ${name}: ${message}`);
  });

  // A duration in milliseconds where seconds are asked (or a typo) is refused, never run for years; the
  // publish lead's key-switch time beyond the Date range threw in the log line.
  it.each([
    ['SIGNING_KEYS_PUBLISH_LEAD', '600000000', 'must not be greater than 604800'],
    ['TOKEN_TTL', '900000', 'must not be greater than 604800'],
    ['MAX_TOKEN_TTL', '3600000', 'must not be greater than 604800'],
    ['JWKS_COOLDOWN', '300000', 'must not be greater than 86400'],
    ['JWKS_MAX_AGE', '600000000', 'must not be greater than 604800'],
    ['JWKS_MAX_STALE', '86400000', 'must not be greater than 2592000'],
  ])('refuses %s=%s, beyond any sensible duration', (name, value, message) => {
    expect(refusal({ ...setup(), [name]: value })).toBe(`environment: ${name}: ${message}`);
  });

  it('several wrong fields of one source: each line still names the source and its field', () => {
    expect(refusal({ ...setup(), PORT: 'abc', TOKEN_TTL: '1.5' }).split('\n')).toEqual([
      'environment: invalid configuration:',
      '  environment: PORT: must be an integer number',
      '  environment: TOKEN_TTL: must be an integer number',
    ]);
  });

  it('a missing required field says "required"', () => {
    const env = setup({ anchor: 'audiences: [https://sts.example.com]\njwks_file: idp.jwks.json\n' });
    expect(refusal(env)).toBe(`${join(env.TRUST_ANCHORS_DIR!, 'idp.yaml')}: issuer: required`);
  });

  it('TLS needs both files', () => {
    expect(refusal({ ...setup(), TLS_CERT_FILE: '/x.pem' })).toBe(
      'environment: TLS_CERT_FILE and TLS_KEY_FILE: set both, or neither',
    );
  });

  it.each([
    ['10.0.0.0/8, 192.168.1.7', true],
    ['loopback,uniquelocal', true],
    ['::1, fd00::/8', true],
    ['*', false],
    ['true', false],
    ['10.0.0.0/33', false],
    ['10.0.0.0/8/1', false],
    ['proxy.internal', false],
  ])('TRUST_PROXY=%s accepted: %s', (value, ok) => {
    if (ok) expect(loadStsConfig({ ...setup(), TRUST_PROXY: value }, 'production').server.trustProxy).toBe(value);
    else expect(refusal({ ...setup(), TRUST_PROXY: value })).toMatch(/^environment: TRUST_PROXY: must be/);
  });

  // A /0 range is every address: any caller's own X-Forwarded-For would become its audit client_ip.
  it.each(['0.0.0.0/0', '::/0', '10.0.0.1, 0.0.0.0/00'])(
    'refuses TRUST_PROXY=%s, which trusts every caller',
    (value) => {
      expect(refusal({ ...setup(), TRUST_PROXY: value })).toBe(
        'environment: TRUST_PROXY: must not name every address (a /0 range): any caller could set its own X-Forwarded-For',
      );
    },
  );
});
