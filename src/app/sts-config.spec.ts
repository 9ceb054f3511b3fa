import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../config/config-error.js';
import { loadClients } from '../clients/clients-loader.js';
import { loadTrustAnchors } from '../trust-anchors/anchor-loader.js';
import { TrustAnchorConfig } from '../trust-anchors/trust-anchor.config.js';
import { validateConfig } from '../config/validate-config.js';

const ISSUER = 'https://sts.example.com';
const dirs: string[] = [];

function tempDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'actbridge-config-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** `text` matched literally inside a RegExp. */
function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const JWKS = JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] });

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadTrustAnchors', () => {
  it('loads one anchor per YAML file, named after the file, with a JWKS file beside it', () => {
    const dir = tempDir({
      'idp.yaml': 'issuer: https://idp.example.com\naudiences: [urn:sts]\njwks_file: idp.jwks.json\n',
      'idp.jwks.json': JWKS,
      'notes.txt': 'ignored',
    });
    const [anchor, ...rest] = loadTrustAnchors(dir, { issuer: ISSUER });
    expect(rest).toEqual([]);
    expect(anchor!.name).toBe('idp');
    expect(anchor!.config.jwks?.keys).toHaveLength(1);
    expect(anchor!.config.trusted_for_chains).toBe(false);
  });

  it.each([
    ['an unknown field', 'issuer: https://idp.example.com\naudiences: [a]\nisuer: x\n', 'isuer'],
    ['a non-https issuer', 'issuer: http://idp.example.com\naudiences: [a]\n', 'issuer'],
    // The URL parser would drop the space or the tab; the issuer, compared as written, would match no token.
    ['an issuer with a leading space', 'issuer: " https://idp.example.com"\naudiences: [a]\n', 'issuer'],
    // Read by the URL parser as https://idp.example.com/, while a token's iss is compared as written.
    ['an issuer missing a slash', 'issuer: https:/idp.example.com\naudiences: [a]\n', 'issuer'],
    ['an issuer with a dot segment', 'issuer: https://idp.example.com/a/../b\naudiences: [a]\n', 'issuer'],
    ['an issuer with an encoded dot segment', 'issuer: https://idp.example.com/a/%2E/b\naudiences: [a]\n', 'issuer'],
    ['an issuer with user info', 'issuer: https://user:pass@idp.example.com\naudiences: [a]\n', 'issuer'],
    ['an issuer with backslashes', 'issuer: "https:\\\\idp.example.com"\naudiences: [a]\n', 'issuer'],
    ['an issuer with a tab inside', 'issuer: "https://idp.exam\\tple.com"\naudiences: [a]\n', 'issuer'],
    ['an audience with a trailing space', 'issuer: https://idp.example.com\naudiences: ["urn:sts "]\n', 'audiences'],
    [
      'a jwks_uri with a trailing newline',
      'issuer: https://idp.example.com\naudiences: [a]\njwks_uri: "https://idp.example.com/j\\n"\n',
      'jwks_uri',
    ],
    ['no audiences', 'issuer: https://idp.example.com\n', 'audiences'],
    ['a symmetric algorithm', 'issuer: https://idp.example.com\naudiences: [a]\nalgorithms: [HS256]\n', 'algorithms'],
    [
      'two key sources',
      `issuer: https://idp.example.com\naudiences: [a]\njwks_uri: https://idp.example.com/jwks\njwks: ${JWKS}\n`,
      'discovery',
    ],
    [
      'a private key in the JWKS',
      'issuer: https://idp.example.com\naudiences: [a]\njwks: {keys: [{kty: EC, crv: P-256, x: x, y: y, d: d}]}\n',
      'jwks',
    ],
    ["actbridge's own issuer", `issuer: ${ISSUER}\naudiences: [a]\n`, 'issuer'],
    // Audit lines and metrics would name this issuer's tokens as actbridge's own.
    [
      "the name of actbridge's own tokens",
      'name: actbridge\nissuer: https://idp.example.com\naudiences: [a]\n',
      'name',
    ],
    [
      'a zero max_token_lifetime',
      'issuer: https://idp.example.com\naudiences: [a]\nmax_token_lifetime: 0\n',
      'max_token_lifetime',
    ],
    [
      'a fractional max_token_lifetime',
      'issuer: https://idp.example.com\naudiences: [a]\nmax_token_lifetime: 1.5\n',
      'max_token_lifetime',
    ],
    [
      'a max_token_lifetime over a year',
      'issuer: https://idp.example.com\naudiences: [a]\nmax_token_lifetime: 31536001\n',
      'max_token_lifetime',
    ],
  ])('refuses %s, naming the file and the field', (_name, yaml, field) => {
    const dir = tempDir({ 'bad.yaml': yaml });
    const error = errorOf(() => loadTrustAnchors(dir, { issuer: ISSUER }));
    // One line names both the file and the field.
    expect(error.message.split('\n').map((line) => line.trim())).toContainEqual(
      expect.stringMatching(new RegExp(`^${escapeRegExp(join(dir, 'bad.yaml'))}: ${field}[.:\\[]`)),
    );
  });

  // class-validator's ArrayUnique was quadratic: 100,000 audiences took about 3 minutes, on the serving
  // event loop at a reload.
  it('checks a long list for duplicates in linear time, and still refuses one', () => {
    // URLs sharing a prefix: each comparison of the quadratic check read it.
    const audiences = Array.from({ length: 100000 }, (_, i) => `https://api.example.com/resources/${i}`);
    const started = Date.now();
    expect(validateConfig(TrustAnchorConfig, { issuer: 'https://idp.example.com', audiences }, 'x.yaml')).toBeDefined();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(() =>
      validateConfig(TrustAnchorConfig, { issuer: 'https://idp.example.com', audiences: ['a', 'b', 'a'] }, 'x.yaml'),
    ).toThrow("x.yaml: audiences: All audiences's elements must be unique");
  });

  it('refuses two files for the same issuer', () => {
    const yaml = 'issuer: https://idp.example.com\naudiences: [a]\n';
    const dir = tempDir({ 'a.yaml': yaml, 'b.yaml': yaml });
    expect(errorOf(() => loadTrustAnchors(dir, { issuer: ISSUER })).message).toMatch(
      /b\.yaml[\s\S]*already configured/,
    );
  });

  it('refuses YAML with duplicate keys rather than keeping the last one', () => {
    const dir = tempDir({
      'dup.yaml': 'issuer: https://a.example.com\nissuer: https://b.example.com\naudiences: [a]\n',
    });
    expect(errorOf(() => loadTrustAnchors(dir, { issuer: ISSUER })).message).toBe(
      `${join(dir, 'dup.yaml')}: not valid YAML: Map keys must be unique at line 2, column 1`,
    );
  });

  it('refuses YAML that does not parse in one line, with where it stopped', () => {
    const dir = tempDir({ 'bad.yaml': 'issuer: https://a.example.com\naudiences: [a\n' });
    expect(errorOf(() => loadTrustAnchors(dir, { issuer: ISSUER })).message).toMatch(
      new RegExp(`^${escapeRegExp(join(dir, 'bad.yaml'))}: not valid YAML: [^\\n]+ at line 3, column 1$`),
    );
  });

  // A bare `key:` is YAML null: taken for "left out", it switched a default off (single-use jti, the
  // introspection token_type check) or crashed the load with a TypeError naming nothing.
  it.each([
    ['development_only', 'development_only:\n'],
    ['rules', 'rules:\n'],
    ['token_types', 'token_types:\n'],
    ['access_token_typ', 'access_token_typ:\n'],
    ['client_ids', 'client_ids:\n'],
    ['jwt_bearer.jti', 'token_types: [jwt]\njwt_bearer:\n  subjects: [a]\n  jti:\n'],
    [
      'introspection.require_token_type',
      'introspection:\n  client_id: sts\n  client_secret_env: SECRET\n  clients: [c1]\n  require_token_type:\n',
    ],
  ])('refuses a bare %s: (no value) rather than taking it for the default', (field, yaml) => {
    const dir = tempDir({ 'bare.yaml': `issuer: https://idp.example.com\naudiences: [a]\n${yaml}` });
    expect(errorOf(() => loadTrustAnchors(dir, { issuer: ISSUER }, { SECRET: 's' })).message).toBe(
      `${join(dir, 'bare.yaml')}: ${field}: has no value; write one, or leave the key out for the default`,
    );
  });

  // class-transformer skipped keys naming Object.prototype members: they passed where any other unknown key stops.
  it.each([
    ['__proto__', '__proto__: {development_only: true}\n'],
    ['constructor', 'constructor: {x: 1}\n'],
    [
      'rules[0].grants.toString',
      'rules:\n  - {name: r, condition: "true", grants: {audiences: [a], scopes: [], toString: x}}\n',
    ],
  ])('refuses an unknown key %s like any other unknown key', (path, yaml) => {
    const dir = tempDir({ 'proto.yaml': `issuer: https://idp.example.com\naudiences: [a]\n${yaml}` });
    const key = path.split('.').pop()!;
    expect(errorOf(() => loadTrustAnchors(dir, { issuer: ISSUER })).message).toBe(
      `${join(dir, 'proto.yaml')}: ${path}: property ${key} should not exist`,
    );
  });

  // The parser only warned (over several lines on stderr) and kept the plain value as if untagged.
  it.each([
    ['!!js/function', 'tag:yaml.org,2002:js/function'],
    ['!secret', '!secret'],
  ])('refuses a YAML tag it does not know (%s) in one line', (tag, shown) => {
    const dir = tempDir({ 'tag.yaml': `issuer: https://idp.example.com\naudiences: [a]\nname: ${tag} idp\n` });
    expect(errorOf(() => loadTrustAnchors(dir, { issuer: ISSUER })).message).toBe(
      `${join(dir, 'tag.yaml')}: not valid YAML: Unresolved tag: ${shown} at line 3, column 7`,
    );
  });

  it('refuses a file that is not UTF-8 rather than reading U+FFFD into a value', () => {
    const dir = tempDir({});
    const text = Buffer.concat([
      Buffer.from('issuer: https://idp.example.com\naudiences: [caf'),
      Buffer.from([0xe9, 0x5d]),
    ]);
    writeFileSync(join(dir, 'latin1.yaml'), text);
    expect(errorOf(() => loadTrustAnchors(dir, { issuer: ISSUER })).message).toBe(
      `${join(dir, 'latin1.yaml')}: not valid UTF-8`,
    );
  });

  // A symmetric key has no "d": its "k" is the secret itself, passed off as a public key.
  it('refuses a symmetric key (kty oct) in the JWKS, naming the file and the field', () => {
    const dir = tempDir({
      'oct.yaml': 'issuer: https://idp.example.com\naudiences: [a]\njwks: {keys: [{kty: oct, k: c2VjcmV0}]}\n',
    });
    expect(errorOf(() => loadTrustAnchors(dir, { issuer: ISSUER })).message).toBe(
      `${join(dir, 'oct.yaml')}: jwks: must hold public keys only (a key is symmetric, kty "oct")`,
    );
  });

  it('refuses a missing directory', () => {
    expect(errorOf(() => loadTrustAnchors('/nonexistent/actbridge', { issuer: ISSUER })).message).toContain(
      'TRUST_ANCHORS_DIR',
    );
  });
});

describe('loadClients', () => {
  const server = { maxTokenTtl: 3600 };
  const base = (extra: string) =>
    `clients:\n  - client_id: c1\n    token_endpoint_auth_method: client_secret_basic\n    client_secret: a-long-enough-secret-0123\n    audiences: [api]\n${extra}`;

  it('loads a valid client', () => {
    const dir = tempDir({ 'clients.yaml': base('    scopes: [read]\n') });
    const [client] = loadClients(join(dir, 'clients.yaml'), server);
    expect(client).toMatchObject({ client_id: 'c1', audiences: ['api'], scopes: ['read'] });
  });

  it.each([
    ['a short plaintext secret', base('').replace('a-long-enough-secret-0123', 'short'), 'clients[0].client_secret'],
    ['a token_ttl above MAX_TOKEN_TTL', base('    token_ttl: 7200\n'), 'clients[0].token_ttl'],
    ['a default_audience off the allowlist', base('    default_audience: other\n'), 'clients[0].default_audience'],
    [
      'a malformed scrypt hash',
      base('').replace('client_secret:', 'client_secret_hash:'),
      'clients[0].client_secret_hash',
    ],
    [
      'a truncated scrypt hash',
      base('').replace(
        'client_secret: a-long-enough-secret-0123',
        'client_secret_hash: $scrypt$ln=15,r=8,p=1$VYhPBOlJvPa0MsqDPJsqXA$-3wDS79NV4PrBo-Kvd3SlXksHf5vY91jjCTyrzjp',
      ),
      'clients[0].client_secret_hash',
    ],
    [
      // RFC 7914 §2: scrypt refuses N ≥ 2^(16r), which would fail every authentication (500), not startup.
      'a scrypt hash with parameters scrypt refuses (ln=16, r=1)',
      base('').replace(
        'client_secret: a-long-enough-secret-0123',
        'client_secret_hash: $scrypt$ln=16,r=1,p=1$VYhPBOlJvPa0MsqDPJsqXA$-3wDS79NV4PrBo-Kvd3SlXksHf5vY91jjCTyrzjpOsg',
      ),
      'clients[0].client_secret_hash',
    ],
    ['a duplicate client_id', base('') + base('').replace('clients:\n', ''), 'clients[1].client_id'],
    ['an unknown field', base('    scope: [read]\n'), 'clients[0].scope'],
    [
      'a symmetric key (kty oct) as a private_key_jwt key',
      base('    jwks: {keys: [{kty: oct, k: c2VjcmV0}]}\n')
        .replace('client_secret_basic', 'private_key_jwt')
        .replace('    client_secret: a-long-enough-secret-0123\n', ''),
      'clients[0].jwks',
    ],
    ['an unknown field named like an Object method', base('    hasOwnProperty: 1\n'), 'clients[0].hasOwnProperty'],
    // Compared as written, such an audience would match no request.
    ['an audience with a leading space', base('').replace('[api]', '[" api"]'), 'clients[0].audiences'],
    ['an audience with a newline at its end', base('').replace('[api]', '["api\\n"]'), 'clients[0].audiences'],
    // Compared as written with a token's aud, such a resource audience would make every introspection inactive.
    [
      'a resource audience with a leading space',
      base('    resource_audiences: [" api"]\n'),
      'clients[0].resource_audiences',
    ],
    ['an empty resource audience', base('    resource_audiences: [""]\n'), 'clients[0].resource_audiences'],
  ])('refuses %s, naming the field', (_name, yaml, field) => {
    const dir = tempDir({ 'clients.yaml': yaml });
    const error = errorOf(() => loadClients(join(dir, 'clients.yaml'), server));
    expect(error.message).toContain(`${join(dir, 'clients.yaml')}: ${field}:`);
  });

  it("refuses actbridge's own issuer as a target: every client could exchange such a token (no lateral movement)", () => {
    const dir = tempDir({ 'clients.yaml': base('').replace('[api]', '[api, "https://sts.example"]') });
    expect(() => loadClients(join(dir, 'clients.yaml'), { ...server, issuer: 'https://sts.example' })).toThrow(
      `${join(dir, 'clients.yaml')}: clients[0].audiences: includes actbridge's own issuer; a token addressed to it could be exchanged by every client`,
    );
    // Only the exact issuer: another path below it is another service.
    expect(() =>
      loadClients(join(dir, 'clients.yaml'), { ...server, issuer: 'https://sts.example/other' }),
    ).not.toThrow();
  });

  it.each(['grant_types', 'scopes', 'resource_audiences', 'impersonation', 'token_ttl'])(
    'refuses a bare %s: (no value) instead of taking it for left out',
    (field) => {
      const dir = tempDir({ 'clients.yaml': base(`    ${field}:\n`) });
      expect(errorOf(() => loadClients(join(dir, 'clients.yaml'), server)).message).toBe(
        `${join(dir, 'clients.yaml')}: clients[0].${field}: has no value; write one, or leave the key out for the default`,
      );
    },
  );
});
