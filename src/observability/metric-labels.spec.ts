import { describe, expect, it } from '@jest/globals';
import {
  ConfiguredValues,
  errorLabel,
  grantLabel,
  tokenTypeLabel,
  vaultEventLabel,
  vaultOutcomeLabel,
} from './metric-labels.js';

describe('metric label values come from tables and configuration only', () => {
  it.each([
    ['urn:ietf:params:oauth:grant-type:token-exchange', 'token_exchange'],
    ['urn:ietf:params:oauth:grant-type:jwt-bearer', 'jwt_bearer'],
    ['urn:ietf:params:oauth:grant-type:saml2-bearer', 'saml2_bearer'],
    ['client_credentials', 'other'],
    ['urn:evil:\n"}', 'other'],
    [undefined, 'none'],
  ])('grant type %j is %s', (grant, label) => expect(grantLabel(grant)).toBe(label));

  it.each([
    ['invalid_grant', 'invalid_grant'],
    ['temporarily_unavailable', 'temporarily_unavailable'],
    ['use_dpop_nonce', 'use_dpop_nonce'],
    ['made_up_error', 'other'],
    [undefined, 'none'],
  ])('error code %j is %s', (code, label) => expect(errorLabel(code)).toBe(label));

  it('names issued token types by their short names', () => {
    expect(tokenTypeLabel('urn:ietf:params:oauth:token-type:access_token')).toBe('access_token');
    expect(tokenTypeLabel('urn:ietf:params:oauth:token-type:id-jag')).toBe('id-jag');
    expect(tokenTypeLabel('urn:example:other')).toBe('other');
  });

  it("names vault events without their prefix and outcomes without the provider's error", () => {
    expect(['vault.connect', 'vault.connect_complete', 'vault.callback', 'vault.x'].map(vaultEventLabel)).toEqual([
      'connect',
      'connect_complete',
      'callback',
      'other',
    ]);
    expect(['started', 'denied: access_denied', 'denied: x"\n', 'refused', 'made up'].map(vaultOutcomeLabel)).toEqual([
      'started',
      'denied',
      'denied',
      'refused',
      'other',
    ]);
  });

  it('keeps configured client ids and anchor names, and calls every other value unknown', () => {
    const clients = new ConfiguredValues();
    clients.replace(['agent']);
    expect([clients.label('agent'), clients.label('mallory'), clients.label(undefined)]).toEqual([
      'agent',
      'unknown',
      'none',
    ]);
    clients.replace(['mallory']);
    expect(clients.label('agent')).toBe('unknown');
  });
});
