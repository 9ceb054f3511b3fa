import { describe, expect, it } from '@jest/globals';
import { envTypos } from './env-typos.js';
import { envSettingNames } from './server-config.js';

const KNOWN = envSettingNames();

describe('envTypos', () => {
  it.each([
    ['SIGNING_KEY', 'SIGNING_KEYS'],
    ['SIGNNG_KEYS', 'SIGNING_KEYS'],
    ['signing_keys', 'SIGNING_KEYS'],
    ['ISSUR', 'ISSUER'],
    ['ISUSER', 'ISSUER'],
    ['REDIS_URI', 'REDIS_URL'],
    ['TRUST_ANCHOR_DIR', 'TRUST_ANCHORS_DIR'],
    ['CLIENT_FILE', 'CLIENTS_FILE'],
    ['MAX_TOKEN_TTl', 'MAX_TOKEN_TTL'],
    ['PROT', 'PORT'],
  ])('%s: did you mean %s?', (name, suggestion) => {
    expect(envTypos({ [name]: 'x' }, KNOWN)).toEqual([{ name, suggestion }]);
  });

  it.each([
    'HOME',
    'HOSTNAME',
    'PATH',
    'PWD',
    'NODE_ENV',
    'NODE_OPTIONS',
    'LANG',
    'TERM',
    'SSL_CERT_FILE', // OpenSSL's CA bundle, one letter from TLS_CERT_FILE
    'SSL_CERT_DIR',
    // Kubernetes service links for a Service named redis or actbridge.
    'REDIS_PORT',
    'REDIS_SERVICE_HOST',
    'ACTBRIDGE_PORT',
    'ACTBRIDGE_SERVICE_PORT',
    'KUBERNETES_SERVICE_HOST',
    'CORP_IDP_CLIENT_SECRET',
  ])('leaves %s alone', (name) => {
    expect(envTypos({ [name]: 'x' }, KNOWN)).toEqual([]);
  });

  it('leaves the settings themselves alone', () => {
    expect(envTypos(Object.fromEntries(KNOWN.map((n) => [n, 'x'])), KNOWN)).toEqual([]);
  });
});
