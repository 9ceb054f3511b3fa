import type { ClientConfig } from '../clients/client.config.js';
import { InvalidTarget } from '../oauth/oauth-error.js';
import { quoted } from '../oauth/error-description.js';
import { tokenRejected } from '../oauth/token-rejection.js';

/**
 * The issued token's audience: every requested `audience` and `resource` (RFC 8693 §2.1, RFC 8707),
 * each of which must be on the client's allowlist; the client's default_audience when none is named.
 * The scope is the same at every target (RFC 8693 §2.1.1: it must be usable at all of them).
 */
export function resolveTargets(
  audiences: readonly string[],
  resources: readonly string[],
  client: ClientConfig,
  maxTargets: number,
): string[] {
  const targets = [...new Set([...audiences, ...resources])];
  if (targets.length === 0) {
    if (client.default_audience === undefined) {
      throw new InvalidTarget('no audience or resource requested, and this client has no default audience');
    }
    return [client.default_audience];
  }
  if (targets.length > maxTargets) {
    throw new InvalidTarget(`too many targets requested (${targets.length}; at most ${maxTargets})`);
  }
  const refused = targets.filter((t) => !client.audiences.includes(t));
  if (refused.length > 0) {
    throw new InvalidTarget(
      `target not allowed for this client: ${refused.map((t) => quoted(t.slice(0, 200))).join(', ')}`,
    );
  }
  return targets;
}

/**
 * RFC 8707 `resource` values within a presented assertion's resources (ID-JAG §4.4.2) and the client's
 * `audiences`; none requested: the assertion's resources.
 */
export function targetsWithin(
  requested: readonly string[],
  within: readonly string[],
  client: ClientConfig,
  maxTargets: number,
): string[] {
  const beyond = requested.filter((r) => !within.includes(r));
  if (beyond.length > 0) {
    throw new InvalidTarget(
      `resource exceeds what the assertion grants: ${beyond.map((r) => quoted(r.slice(0, 200))).join(', ')}`,
    );
  }
  if (requested.length > 0) return resolveTargets([], requested, client, maxTargets);
  // RFC 7523 §3.1: none requested, the targets are the assertion's own; one this client is not issued
  // tokens for fails the grant (invalid_grant), not a request it did not make (invalid_target).
  const targets = [...new Set(within)];
  if (targets.length > maxTargets) {
    throw tokenRejected(
      'assertion',
      `names more resources than a token may have (${targets.length}; at most ${maxTargets}); ask for some with resource`,
    );
  }
  const refused = targets.filter((t) => !client.audiences.includes(t));
  if (refused.length > 0) {
    throw tokenRejected(
      'assertion',
      `names a resource this client is not issued tokens for: ${refused.map((t) => quoted(t.slice(0, 200))).join(', ')}`,
    );
  }
  return targets;
}
