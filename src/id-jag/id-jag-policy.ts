import { InvalidGrant, InvalidRequest, InvalidTarget } from '../oauth/oauth-error.js';
import { TokenTypes } from '../oauth/token-types.js';
import { quoted } from '../oauth/error-description.js';
import type { ScopeLimit } from '../oauth/scope.js';
import type { IdJagClientConfig, IdJagTargetConfig } from './id-jag-client.config.js';

export interface IdJagTargetRequest {
  readonly audiences: readonly string[];
  readonly resources: readonly string[];
}

/** What the client's XAA policy grants for one ID-JAG request. */
export interface IdJagTargetDecision {
  readonly target: IdJagTargetConfig;
  readonly resources: readonly string[];
  /** The target's scopes: what the client may ask for at that AS (the delegation core narrows within). */
  readonly scope: ScopeLimit;
}

const listed = (values: readonly string[]) => values.map((v) => quoted(v.slice(0, 200))).join(', ');

/**
 * ID-JAG §4.3: `audience` (REQUIRED) names the resource AS; `resource` and `scope` are optional. Each
 * must be allowed by the client's `id_jag` policy; the granted values go into the ID-JAG. Without a
 * requested scope, every scope the policy allows for that AS is granted (as for token exchange).
 */
export function decideIdJagTarget(
  policy: IdJagClientConfig,
  request: IdJagTargetRequest,
  maxTargets: number,
): IdJagTargetDecision {
  const audiences = [...new Set(request.audiences)];
  if (audiences.length === 0) {
    throw new InvalidRequest("audience is required for an ID-JAG: the resource authorization server's issuer");
  }
  // §3.1 / identity-chaining: one audience, so the resource AS cannot pass the grant on to another.
  if (audiences.length > 1) throw new InvalidTarget('an ID-JAG names exactly one audience');
  const target = policy.targets.find((t) => t.audience === audiences[0]);
  if (!target) throw new InvalidTarget(`audience not allowed for this client's ID-JAGs: ${listed(audiences)}`);

  const resources = [...new Set(request.resources)];
  if (resources.length > maxTargets) {
    throw new InvalidTarget(`too many resources requested (${resources.length}; at most ${maxTargets})`);
  }
  const refusedResources = resources.filter((r) => !target.resources.includes(r));
  if (refusedResources.length > 0) {
    throw new InvalidTarget(`resource not allowed for this client at ${target.audience}: ${listed(refusedResources)}`);
  }

  const scope: ScopeLimit = {
    scopes: target.scopes,
    refuse: (beyond) => `scope not allowed for this client at ${target.audience}: ${beyond.join(' ')}`,
  };
  return { target, resources, scope };
}

/**
 * Before the subject token is validated (no work on an assertion that cannot be the client's). §4.3.3: the
 * identity assertion's audience MUST be the authenticated client; §4.5: a SAML Audience is mapped to
 * the client through its SP. Without `saml_sp` no SAML assertion was issued to the client: one naming
 * actbridge's SP (issued for actbridge's own grants) or another's must not become an ID-JAG.
 */
export function checkSamlSubjectClient(subjectTokenType: string, policy: IdJagClientConfig, clientId: string): void {
  if (subjectTokenType === TokenTypes.saml2 && !policy.saml_sp) {
    throw new InvalidGrant(
      `subject_token audience is not accepted: client ${clientId} has no SAML service provider registered, so no SAML assertion is issued to it`,
    );
  }
}
