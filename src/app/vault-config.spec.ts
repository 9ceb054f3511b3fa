import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { ConfigError } from '../config/config-error.js';
import { loadStsConfig } from './sts-config.js';
import { generateVaultKey } from '../vault/key-ring.js';
import { githubConnection } from '../../test/support/connections.js';
import { thrownMessage } from '../../test/support/errors.js';

const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A valid connection file; `change` edits a copy. */
function connection(change: (c: Record<string, unknown>) => void = () => undefined): Record<string, unknown> {
  const c = githubConnection('agent', 'app', { scopes: ['repo', 'read:user'] });
  change(c);
  return c;
}

/** Clients, no anchors, the given connection files; returns the environment to load them with. */
function setup(
  files: Record<string, Record<string, unknown> | string>,
  env: Record<string, string> = {},
  clientIds = ['agent', 'app'],
) {
  const dir = mkdtempSync(join(tmpdir(), 'vault-config-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'anchors'));
  mkdirSync(join(dir, 'connections'));
  const client = (id: string) => ({
    client_id: id,
    token_endpoint_auth_method: 'client_secret_basic',
    client_secret: `${id}-secret-0123456789`,
    audiences: [],
  });
  writeFileSync(join(dir, 'clients.yaml'), stringify({ clients: clientIds.map(client) }));
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(dir, 'connections', name), typeof content === 'string' ? content : stringify(content));
  }
  return {
    dir,
    file: (name: string) => join(dir, 'connections', name),
    env: {
      TRUST_ANCHORS_DIR: join(dir, 'anchors'),
      CLIENTS_FILE: join(dir, 'clients.yaml'),
      CONNECTIONS_DIR: join(dir, 'connections'),
      GITHUB_CLIENT_SECRET: 'from-the-environment',
      ...env,
    },
  };
}

/** Why `mode` refuses `env`. */
function refusal(env: Record<string, string>, mode: 'production' | 'development' = 'development'): string {
  return thrownMessage(() => loadStsConfig(env, mode), ConfigError);
}

describe('connections (CONNECTIONS_DIR)', () => {
  it('loads a connection: name from the file, secret from the environment, rules compiled', () => {
    const { env } = setup({ 'github.yaml': connection() });
    const [loaded] = loadStsConfig(env, 'development').vault.connections;
    expect(loaded).toMatchObject({
      name: 'github',
      config: { client_id: 'Iv1.actbridge', token_endpoint_auth_method: 'client_secret_basic' },
    });
    expect(loaded!.clientSecret.reveal()).toBe('from-the-environment');
    expect(JSON.stringify(loaded)).not.toContain('from-the-environment');
    expect(loaded!.policy.rules.map((r) => r.name)).toEqual(['agent']);
  });

  it('reads the secret from a file beside the connection', () => {
    const { env, dir } = setup({
      'github.yaml': connection((c) => {
        delete c.client_secret_env;
        c.client_secret_file = '../github.secret';
      }),
    });
    writeFileSync(join(dir, 'github.secret'), 'from-a-file\n');
    expect(loadStsConfig(env, 'development').vault.connections[0]!.clientSecret.reveal()).toBe('from-a-file');
  });

  it.each<[string, (c: Record<string, unknown>) => void, string]>([
    ['an unknown field', (c) => (c.client_secert = 'x'), 'client_secert: property client_secert should not exist'],
    ['no rules', (c) => (c.rules = []), 'rules: should not be empty'],
    [
      'a client that is not registered',
      (c) => (c.clients = ['agent', 'ghost']),
      'clients[1]: no client "ghost" is registered',
    ],
    [
      'a connect client that is not registered',
      (c) => ((c.connect as Record<string, unknown>).clients = ['ghost']),
      'connect.clients[0]: no client "ghost" is registered',
    ],
    [
      'discovery none without a token endpoint',
      (c) => delete (c.provider as Record<string, unknown>).token_endpoint,
      'provider.token_endpoint: required with discovery: none',
    ],
    [
      'endpoints beside discovery',
      (c) => ((c.provider as Record<string, unknown>).discovery = 'oidc'),
      'provider.authorization_endpoint: is discovered (discovery: oidc); give endpoints only with discovery: none',
    ],
    [
      'the iss flag beside discovery',
      (c) =>
        Object.assign(c.provider as Record<string, unknown>, {
          discovery: 'oauth2',
          authorization_endpoint: undefined,
          token_endpoint: undefined,
          revocation_endpoint: undefined,
          authorization_response_iss_parameter_supported: true,
        }),
      'provider.authorization_response_iss_parameter_supported: is discovered (discovery: oauth2); give it only with discovery: none',
    ],
    [
      'an iss flag that is no boolean',
      (c) => ((c.provider as Record<string, unknown>).authorization_response_iss_parameter_supported = 'yes'),
      'provider.authorization_response_iss_parameter_supported: must be a boolean value',
    ],
    [
      'a plain-http provider that is not loopback',
      (c) => ((c.provider as Record<string, unknown>).issuer = 'http://github.com'),
      'provider.issuer: must be an https URL without user info or fragment (http only for localhost/127.0.0.1)',
    ],
    [
      'a secret variable that is not set',
      (c) => (c.client_secret_env = 'UNSET_SECRET'),
      'client_secret_env: environment variable UNSET_SECRET is not set',
    ],
    [
      'the secret itself where its variable is named (not repeated)',
      (c) => (c.client_secret_env = 'a3f9c0b1e2d4f5a6b7c8d9e0f1a2b3c4d5e6f7a8'),
      'client_secret_env: the environment variable it names is not set',
    ],
    [
      'two secret sources',
      (c) => (c.client_secret_file = 'x'),
      'client_secret_env: give exactly one of client_secret_env, client_secret_file',
    ],
    [
      'an authorization parameter actbridge sets itself',
      (c) => (c.authorization_params = { redirect_uri: 'https://evil.example' }),
      'authorization_params: must map parameter names to strings, without client_id, redirect_uri',
    ],
    [
      'a rule granting a scope the connection does not offer',
      (c) => (c.rules = [{ name: 'r', condition: 'true', scopes: ['admin:org'] }]),
      'rules[0].scopes: (rule "r") admin:org not among the connection\'s scopes',
    ],
    [
      'a rule that does not compile',
      (c) => (c.rules = [{ name: 'r', condition: 'client_id ==', scopes: [] }]),
      'rules[0].condition: (rule "r") syntax error',
    ],
    [
      'a rule using matches()',
      (c) => (c.rules = [{ name: 'r', condition: 'client_id.matches("a+")', scopes: [] }]),
      'rules[0].condition: (rule "r") matches() is not available in policies',
    ],
    [
      'an extra scope that is among scopes too (asked at every connect, carried past every rule)',
      (c) => ((c.connect as Record<string, unknown>).extra_scopes = ['openid', 'repo']),
      'connect.extra_scopes[1]: "repo" is among scopes too: a token carrying it would be served past every rule, whatever scopes it grants',
    ],
    [
      'a redirect URI in plain http',
      (c) => ((c.connect as Record<string, unknown>).redirect_uris = ['http://app.example/cb']),
      'connect.redirect_uris: must be an https URL without user info or fragment (http only for localhost/127.0.0.1)',
    ],
  ])('refuses %s, naming the file and the field', (_name, change, message) => {
    const { env, file } = setup({ 'github.yaml': connection(change) });
    const text = refusal(env);
    expect(text).toContain(`${file('github.yaml')}: ${message}`);
  });

  it('loads the example connection files (connections/*.yaml.example)', () => {
    const { env, dir } = setup({}, { GOOGLE_CLIENT_SECRET: 'g' }, ['web-app', 'coding-agent', 'research-agent']);
    const examples = new URL('../../connections/', import.meta.url);
    for (const name of readdirSync(examples).filter((n) => n.endsWith('.yaml.example'))) {
      copyFileSync(new URL(name, examples), join(dir, 'connections', name.replace(/\.example$/, '')));
    }
    const loaded = loadStsConfig(env, 'development').vault.connections;
    expect(loaded.map((c) => c.name)).toEqual(['github', 'google']);
  });

  it('refuses two connections claiming one audience', () => {
    const { env, file } = setup({ 'a.yaml': connection(), 'b.yaml': connection() });
    expect(refusal(env)).toBe(`${file('b.yaml')}: audiences[0]: already names the connection in ${file('a.yaml')}`);
  });

  it("refuses an audience that is also a client's: exchanges naming it would reach the connection, never that client's token", () => {
    const { env, file } = setup({ 'github.yaml': connection() });
    const client = (id: string, audiences: string[]) => ({
      client_id: id,
      token_endpoint_auth_method: 'client_secret_basic',
      client_secret: `${id}-secret-0123456789`,
      audiences,
    });
    writeFileSync(
      env.CLIENTS_FILE,
      stringify({
        clients: [client('agent', []), client('app', ['https://api.example.com', 'https://api.github.com'])],
      }),
    );
    expect(refusal(env)).toBe(
      `${file('github.yaml')}: audiences[0]: is an audience of client app too (CLIENTS_FILE): a token exchange naming it asks this connection, so app could never get actbridge's token for it`,
    );
  });

  it('refuses a CONNECTIONS_DIR that does not exist, and ignores a missing default directory', () => {
    const { env, dir } = setup({});
    expect(refusal({ ...env, CONNECTIONS_DIR: join(dir, 'nope') })).toBe(
      `environment: CONNECTIONS_DIR: ${join(dir, 'nope')} does not exist`,
    );
    const { CONNECTIONS_DIR: _unused, ...withoutDir } = env;
    void _unused;
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      expect(loadStsConfig(withoutDir, 'development').vault.connections).toEqual([]);
    } finally {
      process.chdir(cwd);
    }
  });

  it('refuses a database without key-encryption keys, in every mode', () => {
    const { env } = setup({ 'github.yaml': connection() });
    expect(refusal({ ...env, DATABASE_URL: 'postgres://db/vault' })).toBe(
      'environment: VAULT_KEYS: required with DATABASE_URL (the token vault encrypts what it stores; `npm run vault -- generate-key`)',
    );
  });

  it('keeps connections in memory with a generated key in development, and refuses that in production', () => {
    const { env } = setup({ 'github.yaml': connection() });
    expect(loadStsConfig(env, 'development').vault.keys).toBeUndefined();
    const problems = refusal({ ...env, SIGNING_KEYS: env.CLIENTS_FILE }, 'production').split('\n');
    expect(problems).toContain(
      '  environment: DATABASE_URL: required in production when CONNECTIONS_DIR holds connections (the token vault keeps them in PostgreSQL); `npm start` keeps them in memory',
    );
    expect(problems).toContain(
      '  environment: VAULT_KEYS: required in production when CONNECTIONS_DIR holds connections (the key-encryption keys of the token vault)',
    );
    // The variable a connection names for its secret is not taken for a misspelt setting.
    expect(problems.join('\n')).not.toContain('GITHUB_CLIENT_SECRET');
  });

  it('needs neither a database nor keys in production when there are no connections', () => {
    const { env } = setup({});
    const message = refusal({ ...env, SIGNING_KEYS: env.CLIENTS_FILE }, 'production');
    expect(message).not.toContain('DATABASE_URL');
    expect(message).not.toContain('VAULT_KEYS');
  });

  it('accepts a database with keys', () => {
    const { env } = setup({ 'github.yaml': connection() });
    const vault = loadStsConfig(
      { ...env, DATABASE_URL: 'postgresql://db/vault', VAULT_KEYS: JSON.stringify(generateVaultKey('k1')) },
      'development',
    ).vault;
    expect(vault.keys?.activeKid).toBe('k1');
  });
});
