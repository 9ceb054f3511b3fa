import { describe, expect, it } from '@jest/globals';
import type { SubjectView } from '../policy/subject-view.js';
import { compileConnectionPolicy } from './connection-policy.js';

const view = (extra: Partial<SubjectView> = {}): SubjectView => ({
  claims: { sub: 'alice', groups: ['eng'] },
  attributes: {},
  name_id: '',
  name_id_format: '',
  issuer: 'https://idp.example',
  token_type: 'urn:ietf:params:oauth:token-type:access_token',
  sub: 'alice',
  scopes: [],
  actors: [],
  client_id: 'agent-1',
  ...extra,
});

const { policy, problems } = compileConnectionPolicy(
  [
    { name: 'needs-claim', condition: 'claims.department == "sales"', scopes: ['read:user'] },
    { name: 'agent-1', condition: 'client_id == "agent-1" && actors.exists(a, a.sub == "agent-1")', scopes: ['repo'] },
    { name: 'engineers', condition: '"eng" in claims.groups', scopes: ['read:user'] },
  ],
  ['repo', 'read:user'],
);

describe('connection rules (CEL, first match)', () => {
  it('compiles in the anchors’ policy language', () => {
    expect(problems).toEqual([]);
  });

  it('takes the first rule whose condition is true; a rule that cannot be evaluated does not match', () => {
    const decision = policy.decide(view({ actors: [{ sub: 'agent-1', iss: 'https://idp.example' }] }));
    expect(decision.matched?.name).toBe('agent-1');
    expect(decision.trace).toEqual([expect.stringMatching(/^needs-claim: .*department/), 'agent-1: matched']);
  });

  it('falls through to a later rule, or to none', () => {
    expect(policy.decide(view()).matched?.name).toBe('engineers');
    const none = policy.decide(view({ claims: { sub: 'alice', groups: [] }, client_id: 'agent-2' }));
    expect(none.matched).toBeUndefined();
    expect(none.trace).toHaveLength(3);
  });
});
