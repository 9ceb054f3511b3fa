import type { ClientConfig } from '../clients/client.config.js';
import type { ScopeLimit } from '../oauth/scope.js';
import type { DecisionInput, PolicyGrant } from './delegation-policy.js';

/**
 * In order: the client's `scopes` (an ID-JAG's target scopes instead), the policy rule's, then what the
 * presented token or assertion carries.
 */
export function scopeLimits(
  { client, subject, ceiling }: Pick<DecisionInput, 'client' | 'subject' | 'ceiling'>,
  policy: PolicyGrant | undefined,
): ScopeLimit[] {
  const limits: ScopeLimit[] = [ceiling.kind === 'id-jag' && ceiling.scope ? ceiling.scope : clientLimit(client)];
  if (policy) limits.push(policyLimit(policy));
  if (ceiling.kind === 'assertion' && ceiling.scope) limits.push(ceiling.scope);
  if (ceiling.kind === 'exchange' && subject.scope !== undefined) limits.push(subjectLimit(subject.scope));
  return limits;
}

export function clientLimit(client: ClientConfig): ScopeLimit {
  return { scopes: client.scopes, refuse: (s) => `scope not allowed for this client: ${s.join(' ')}` };
}

/** The rule's scopes: a refusal does not list what the policy grants (the detail names the rule). */
export function policyLimit(policy: PolicyGrant): ScopeLimit {
  return {
    scopes: policy.rule.scopes,
    refuse: () => "scope exceeds what this subject's trust anchor policy grants",
    detail: (s) => `rule ${policy.label} does not grant: ${s.join(' ')}`,
  };
}

export function subjectLimit(scopes: readonly string[]): ScopeLimit {
  return { scopes, refuse: (s) => `scope exceeds the subject_token's scope: ${s.join(' ')}` };
}
