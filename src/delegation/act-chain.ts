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
  readonly act?: ActClaim;
}

/** An actor about to be recorded: its identity, and (for matching `may_act`) the claims it presented. */
export interface ActorIdentity {
  readonly sub: string;
  readonly iss: string;
  readonly claims: Readonly<Record<string, unknown>>;
}

const IDENTITY_MEMBERS = ['sub', 'iss', 'client_id'] as const;

export type ParsedActChain =
  { readonly ok: true; readonly act: ActClaim } | { readonly ok: false; readonly reason: string };

/** Validates a presented `act` claim (every level an object with a non-empty string `sub`). */
export function parseActChain(raw: unknown, depthLimit: number): ParsedActChain {
  const parse = (value: unknown, depth: number): ActClaim | string => {
    if (depth > depthLimit) return `nests more than ${depthLimit} actors`;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'is not an object';
    const member = value as Record<string, unknown>;
    if (typeof member.sub !== 'string' || member.sub.length === 0) return 'has an actor without sub';
    const out: { -readonly [K in keyof ActClaim]: ActClaim[K] } = { sub: member.sub };
    for (const name of IDENTITY_MEMBERS) {
      if (name === 'sub' || member[name] === undefined) continue;
      if (typeof member[name] !== 'string') return `has a non-string ${name}`;
      out[name] = member[name];
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
  return prior ? { sub: actor.sub, iss: actor.iss, act: prior } : { sub: actor.sub, iss: actor.iss };
}

export function chainDepth(act: ActClaim | undefined): number {
  let depth = 0;
  for (let level = act; level; level = level.act) depth++;
  return depth;
}

/** Actors outermost (current) first, for the audit line. */
export function actorsOutermostFirst(act: ActClaim | undefined): Array<{ sub: string; iss?: string }> {
  const actors: Array<{ sub: string; iss?: string }> = [];
  for (let level = act; level; level = level.act) {
    actors.push(level.iss === undefined ? { sub: level.sub } : { sub: level.sub, iss: level.iss });
  }
  return actors;
}
