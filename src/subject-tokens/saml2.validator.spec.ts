import { beforeAll, describe, expect, it } from '@jest/globals';
import { oneAnchorRegistry } from '../../test/support/anchors.js';
import { base64url, createSamlTestIdp, type SamlTestIdp } from '../../test/support/saml-idp.js';
import type { ClientConfig } from '../clients/client.config.js';
import { MemoryReplayStore } from '../stores/memory-replay-store.js';
import { SamlAnchorConfig } from '../saml/saml-anchor.config.js';
import type { ServerConfig } from '../config/server-config.js';
import { TrustAnchorRegistry } from '../trust-anchors/trust-anchor-registry.js';
import { TrustAnchorConfig } from '../trust-anchors/trust-anchor.config.js';
import { Saml2Validator } from './saml2.validator.js';

const ISSUER = 'https://sts.example';
const ENDPOINT = `${ISSUER}/oauth/token`;
const GROUPS = 'http://schemas.xmlsoap.org/claims/Group';
const MAIL = 'urn:oid:0.9.2342.19200300.100.1.3';

let idp: SamlTestIdp;
let validator: Saml2Validator;
const client = { client_id: 'agent' } as ClientConfig;

beforeAll(async () => {
  idp = await createSamlTestIdp({ entityId: 'https://idp.example/saml', spEntityId: ISSUER, tokenEndpoint: ENDPOINT });
  const config = Object.assign(new TrustAnchorConfig(), {
    kind: 'saml',
    issuer: idp.entityId,
    saml: Object.assign(new SamlAnchorConfig(), {
      resolvedCertificates: [idp.certificate],
      attributes: { groups: GROUPS },
    }),
  });
  const server = {
    issuer: ISSUER,
    clockSkew: 30,
    upstreamTimeoutMs: 1000,
    jwksCooldown: 1,
    jwksMaxAge: 60,
    jwksMaxStale: 60,
  } as ServerConfig;
  const registry = oneAnchorRegistry(server, config);
  validator = new Saml2Validator(server, registry, new MemoryReplayStore());
});

describe('Saml2Validator', () => {
  it('turns a verified assertion into a ValidatedToken: NameID with format, renamed attributes and claims', async () => {
    const token = await validator.validate(
      base64url(
        idp.signedAssertion({
          nameId: 'alice@example.com',
          attributes: { [GROUPS]: ['readers', 'writers'], [MAIL]: ['alice@example.com'] },
        }),
      ),
      { role: 'subject', client },
    );
    expect(token).toMatchObject({
      tokenType: 'urn:ietf:params:oauth:token-type:saml2',
      principal: { sub: 'alice@example.com', iss: idp.entityId },
      anchor: { name: 'idp', issuer: idp.entityId, trustedForChains: false, self: false },
      nameId: { value: 'alice@example.com', format: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress' },
      attributes: { groups: ['readers', 'writers'], [MAIL]: ['alice@example.com'] },
      claims: { groups: ['readers', 'writers'], [MAIL]: 'alice@example.com' },
      scope: undefined,
      act: undefined,
      mayAct: undefined,
    });
    expect(token.expiresAt).toBeGreaterThan(Date.now() / 1000);
  });

  describe('an attribute whose Name is the claim name the anchor gives another (groups ← Group)', () => {
    const refusal =
      'has an Attribute named groups, a claim name its trust anchor reserves for another attribute (saml.attributes)';

    it.each<[string, Record<string, readonly string[]>]>([
      ['alongside the mapped attribute, after it', { [GROUPS]: ['readers'], groups: ['admins'] }],
      ['alongside the mapped attribute, before it', { groups: ['admins'], [GROUPS]: ['readers'] }],
      ['alone', { groups: ['admins'] }],
    ])('is refused, %s, never read as the mapped one', async (_name, attributes) => {
      const assertion = base64url(idp.signedAssertion({ attributes }));
      const refused = validator.validate(assertion, { role: 'assertion', client });
      await expect(refused).rejects.toMatchObject({ error: 'invalid_grant', description: `assertion ${refusal}` });
      await expect(refused).rejects.not.toMatchObject({ description: expect.stringContaining('admins') });
    });

    it('leaves an unmapped attribute with any other Name as it is', async () => {
      const assertion = base64url(idp.signedAssertion({ attributes: { [GROUPS]: ['readers'], Group: ['admins'] } }));
      const token = await validator.validate(assertion, { role: 'assertion', client });
      expect(token.attributes).toEqual({ groups: ['readers'], Group: ['admins'] });
    });
  });

  it('maps a failure to the role: invalid_request for a subject token, invalid_grant for an assertion', async () => {
    const bad = base64url(idp.unsignedAssertion());
    await expect(validator.validate(bad, { role: 'subject', client })).rejects.toMatchObject({
      error: 'invalid_request',
      description: 'subject_token Assertion is not signed',
    });
    await expect(validator.validate(bad, { role: 'actor', client })).rejects.toMatchObject({
      error: 'invalid_request',
      description: 'actor_token Assertion is not signed',
    });
    await expect(validator.validate(bad, { role: 'assertion', client })).rejects.toMatchObject({
      error: 'invalid_grant',
      description: 'assertion Assertion is not signed',
    });
  });

  it('fails closed (503) when the replay store is down', async () => {
    const registry = (validator as unknown as { anchors: TrustAnchorRegistry }).anchors;
    const failing = new Saml2Validator({ issuer: ISSUER } as ServerConfig, registry, {
      consume: () => Promise.reject(new Error('connection refused')),
    });
    await expect(
      failing.validate(base64url(idp.signedAssertion()), { role: 'assertion', client }),
    ).rejects.toMatchObject({ error: 'temporarily_unavailable', status: 503 });
  });
});
