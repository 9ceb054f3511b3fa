import { describe, expect, it } from '@jest/globals';
import type { ValidatedToken } from '../subject-tokens/validated-token.js';
import { buildSubjectView } from './subject-view.js';
import { compileExpression } from '../policy/policy-language.js';
import { testJwtAnchor } from '../../test/support/anchors.js';

const anchor = testJwtAnchor({ name: 'idp', issuer: 'https://idp.example', trustedForChains: true });

function token(extra: Partial<ValidatedToken>): ValidatedToken {
  return {
    tokenType: 'urn:ietf:params:oauth:token-type:jwt',
    principal: { sub: 'alice', iss: anchor.issuer },
    anchor,
    claims: { sub: 'alice', iss: anchor.issuer },
    scope: undefined,
    expiresAt: 2_000_000_000,
    act: undefined,
    mayAct: undefined,
    ...extra,
  };
}

describe('buildSubjectView', () => {
  it('a JWT: claims as verified, attributes from string and string-list claims, no NameID', () => {
    const claims = {
      sub: 'alice',
      iss: anchor.issuer,
      groups: ['eng', 'ops'],
      email: 'alice@example.com',
      exp: 2_000_000_000,
      mixed: ['a', 1],
      obj: { a: 'b' },
      scope: 'read write',
    };
    expect(buildSubjectView(token({ claims, scope: ['read', 'write'] }), 'web')).toEqual({
      claims,
      attributes: {
        sub: ['alice'],
        iss: [anchor.issuer],
        groups: ['eng', 'ops'],
        email: ['alice@example.com'],
        scope: ['read write'],
      },
      name_id: '',
      name_id_format: '',
      issuer: anchor.issuer,
      token_type: 'urn:ietf:params:oauth:token-type:jwt',
      sub: 'alice',
      scopes: ['read', 'write'],
      actors: [],
      client_id: 'web',
    });
  });

  it('a SAML assertion: NameID and its format, attributes as given', () => {
    const view = buildSubjectView(
      token({
        tokenType: 'urn:ietf:params:oauth:token-type:saml2',
        principal: { sub: 'alice@example.com', iss: anchor.issuer },
        claims: { groups: ['eng', 'ops'], mail: 'alice@example.com' },
        nameId: { value: 'alice@example.com', format: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress' },
        attributes: { groups: ['eng', 'ops'], mail: ['alice@example.com'] },
      }),
      'web',
    );
    expect(view).toMatchObject({
      attributes: { groups: ['eng', 'ops'], mail: ['alice@example.com'] },
      name_id: 'alice@example.com',
      name_id_format: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      sub: 'alice@example.com',
      scopes: [],
    });
  });

  it('a JWT claim named __proto__ is an attribute like any other; the rest still reads as a map', () => {
    const claims = JSON.parse('{"sub":"alice","__proto__":"eng","groups":["ops"]}') as Record<string, unknown>;
    const view = buildSubjectView(token({ claims }), 'web');
    expect(Object.getPrototypeOf(view.attributes)).toBe(Object.prototype);
    expect(Object.entries(view.attributes)).toEqual([
      ['sub', ['alice']],
      ['__proto__', ['eng']],
      ['groups', ['ops']],
    ]);
    const condition = compileExpression(
      '"ops" in attributes.groups && attributes["__proto__"] == ["eng"]',
      'condition',
    );
    expect(condition.evaluate(view)).toEqual({ ok: true, value: true });
  });

  it('the existing act chain, outermost first, identity members only; an actor without iss named by the token issuer, as the issued token records it', () => {
    const act = { sub: 'cur', iss: 'https://a', client_id: 'c', exp: 1, act: { sub: 'old', roles: ['x'] } };
    expect(buildSubjectView(token({ act }), 'web').actors).toEqual([
      { sub: 'cur', iss: 'https://a', client_id: 'c' },
      { sub: 'old', iss: anchor.issuer },
    ]);
  });

  it.each([
    ['a string', 'svc'],
    ['an actor without sub', { iss: 'x' }],
    ['a nested array', { sub: 'a', act: [] }],
  ])('a malformed act claim (%s) shows no actors', (_name, act) => {
    expect(buildSubjectView(token({ act }), 'web').actors).toEqual([]);
  });
});
