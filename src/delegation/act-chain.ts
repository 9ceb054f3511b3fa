/**
 * RFC 8693 §4.1 `act`: the current actor outermost, prior actors nested inside, least recent deepest.
 * Only identity members are kept (sub, iss, client_id): "exp", "nbf", "aud" and the like have no
 * meaning inside `act`, and carrying arbitrary members forward would let one issuer's claims ride along
 * a chain unchecked.
 */
export interface ActClaim {
  readonly sub: string;
  readonly iss?: string;
  readonly client_id?: string;
  /**
   * actbridge extension: the attestation label of the trust anchor that vouched for this actor (e.g.
   * `github-actions`), so resource servers and auditors can tell which platform attested the agent.
   */
  readonly attested_by?: string;
  readonly act?: ActClaim;
}

/** An actor about to be recorded: its identity, and (for matching `may_act`) the claims it presented. */
export interface ActorIdentity {
  readonly sub: string;
  readonly iss: string;
  readonly claims: Readonly<Record<string, unknown>>;
  /** The attestation label of the anchor that vouched for the actor, if any. */
  readonly attestedBy?: string;
}

const IDENTITY_MEMBERS = ['sub', 'iss', 'client_id', 'attested_by'] as const;

export type ParsedActChain =
  { readonly ok: true; readonly act: ActClaim } | { readonly ok: false; readonly reason: string };

/**
 * Validates a presented `act` claim (every level an object with a non-empty string `sub`). `issuer`: the
 * issuer of the token that carries it, whose namespace an actor without `iss` is named in; the actor is
 * then recorded with it, as a prior actor in a token of actbridge's would otherwise be read as one of
 * actbridge's own (its clients).
 */
export function parseActChain(raw: unknown, depthLimit: number, issuer?: string): ParsedActChain {
  const parse = (value: unknown, depth: number): ActClaim | string => {
    if (depth > depthLimit) return `nests more than ${depthLimit} actors`;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'is not an object';
    const member = value as Record<string, unknown>;
    if (typeof member.sub !== 'string' || member.sub.length === 0) return 'has an actor without sub';
    const out: { -readonly [K in keyof ActClaim]: ActClaim[K] } = { sub: member.sub };
    for (const name of IDENTITY_MEMBERS) {
      // RFC 7519 §4.1.2: a sub is unique only in the context of its issuer; without iss, the token's.
      const value = name === 'iss' && member.iss === undefined ? issuer : member[name];
      if (name === 'sub' || value === undefined) continue;
      if (typeof value !== 'string') return `has a non-string ${name}`;
      if (value.length === 0) return `has an empty ${name}`;
      out[name] = value;
    }
    if (member.act !== undefined) {
      const inner = parse(member.act, depth + 1);
      if (typeof inner === 'string') return inner;
      out.act = inner;
    }
    return out;
  };
  const result = parse(raw, 1);
  return typeof result === 'string' ? { ok: false, reason: result } : { ok: true, act: result };
}

/** The new chain: `actor` becomes the current actor, `prior` (if any) nests inside it. */
export function nestActor(actor: ActorIdentity, prior: ActClaim | undefined): ActClaim {
  return {
    sub: actor.sub,
    iss: actor.iss,
    ...(actor.attestedBy === undefined ? {} : { attested_by: actor.attestedBy }),
    ...(prior ? { act: prior } : {}),
  };
}

export function chainDepth(act: ActClaim | undefined): number {
  let depth = 0;
  for (let level = act; level; level = level.act) depth++;
  return depth;
}

/** Actors outermost (current) first, for the audit line. */
export function actorsOutermostFirst(
  act: ActClaim | undefined,
): Array<{ sub: string; iss?: string; attested_by?: string }> {
  const actors: Array<{ sub: string; iss?: string; attested_by?: string }> = [];
  for (let level = act; level; level = level.act) {
    actors.push({
      sub: level.sub,
      ...(level.iss === undefined ? {} : { iss: level.iss }),
      ...(level.attested_by === undefined ? {} : { attested_by: level.attested_by }),
    });
  }
  return actors;
}
