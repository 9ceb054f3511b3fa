import { describe, expect, it } from '@jest/globals';
import type { ClientConfig } from '../clients/client.config.js';
import { OAuthError } from '../oauth/oauth-error.js';
import type { ValidatedToken } from '../subject-tokens/validated-token.js';
import { vaultCaller } from './vault-actors.js';
import { testJwtAnchor } from '../../test/support/anchors.js';

const STS = 'https://sts.example';
const IDP = 'https://idp.example';
const server = { issuer: STS, maxChainDepth: 3 };
const client = { client_id: 'agent-app' } as ClientConfig;

function token(extra: Partial<ValidatedToken> = {}): ValidatedToken {
  return {
    tokenType: 'urn:ietf:params:oauth:token-type:access_token',
    principal: { sub: 'alice', iss: IDP },
    anchor: testJwtAnchor({ name: 'idp', issuer: IDP, trustedForChains: true }),
    claims: { sub: 'alice', iss: IDP },
    scope: undefined,
    expiresAt: 0,
    act: undefined,
    mayAct: undefined,
    ...extra,
  };
}

const actor = (sub: string, extra: Partial<ValidatedToken> = {}) =>
  token({ principal: { sub, iss: IDP }, claims: { sub, iss: IDP }, ...extra });

describe('the actors of a vault exchange', () => {
  it.each<[string, ValidatedToken, ValidatedToken | undefined, Array<{ sub: string; iss?: string }>]>([
    ['a plain user token, no actor token: nobody acts but the client', token(), undefined, []],
    ['an actor token: its subject acts', token(), actor('agent-1'), [{ sub: 'agent-1', iss: IDP }]],
    [
      'a delegated token: its chain, current actor first',
      token({ act: { sub: 'agent-2', iss: IDP, act: { sub: 'agent-1', iss: IDP } } }),
      undefined,
      [
        { sub: 'agent-2', iss: IDP },
        { sub: 'agent-1', iss: IDP },
      ],
    ],
    [
      'a delegated token and an actor token: the actor nests the chain',
      token({ act: { sub: 'agent-1', iss: IDP } }),
      actor('agent-2'),
      [
        { sub: 'agent-2', iss: IDP },
        { sub: 'agent-1', iss: IDP },
      ],
    ],
  ])('%s', (_name, subject, actorToken, expected) => {
    const caller = vaultCaller(subject, actorToken, client, server);
    expect(caller.actors).toEqual(expected);
    expect(caller.view).toEqual(expected);
  });

  it.each<[string, ValidatedToken, ValidatedToken | undefined, string]>([
    [
      'a chain from an issuer not trusted for chains',
      token({ act: { sub: 'agent-1' }, anchor: testJwtAnchor({ name: 'idp', issuer: IDP }) }),
      undefined,
      'subject_token carries an act claim, but its issuer is not trusted for delegation chains',
    ],
    ['a malformed chain', token({ act: { iss: IDP } }), undefined, 'subject_token act claim has an actor without sub'],
    [
      'an actor token that is itself delegated',
      token(),
      actor('agent-1', { act: { sub: 'x' } }),
      'actor_token must identify the actor itself; it carries an act claim',
    ],
    [
      'an actor token naming the subject itself (RFC 8693 §1.1)',
      token(),
      actor('alice'),
      'actor_token names the subject itself; the actor must be another party (without an actor_token, the client acts)',
    ],
    [
      'an actor may_act does not name',
      token({ mayAct: { sub: 'agent-1' } }),
      actor('agent-2'),
      "the actor_token's subject is not permitted by the subject_token's may_act claim",
    ],
    [
      "an actbridge token issued to the client may_act names (its client_id is not the actor's)",
      token({ mayAct: { client_id: 'tool-app' } }),
      actor('bob', {
        anchor: testJwtAnchor({ name: 'actbridge', issuer: STS, trustedForChains: true, self: true }),
        claims: { sub: 'bob', iss: STS, client_id: 'tool-app' },
      }),
      "the actor_token's subject is not permitted by the subject_token's may_act claim",
    ],
    [
      'a client may_act does not name',
      token({ mayAct: { sub: 'agent-1' } }),
      undefined,
      "the client is not permitted to act by the subject_token's may_act claim (present an actor_token?)",
    ],
    [
      'a chain deeper than MAX_CHAIN_DEPTH',
      token({ act: { sub: 'a', act: { sub: 'b', act: { sub: 'c' } } } }),
      actor('d'),
      'delegation chain too deep: 4 actors, at most 3 are allowed',
    ],
  ])('refuses %s (invalid_request)', (_name, subject, actorToken, message) => {
    let error: unknown;
    try {
      vaultCaller(subject, actorToken, client, server);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ error: 'invalid_request', description: message });
  });

  it('admits the actor may_act names', () => {
    expect(vaultCaller(token({ mayAct: { sub: 'agent-1' } }), actor('agent-1'), client, server).actors).toEqual([
      { sub: 'agent-1', iss: IDP },
    ]);
  });
});
