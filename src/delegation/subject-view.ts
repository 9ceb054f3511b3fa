import { parseActChain } from './act-chain.js';
import type { SubjectView, ViewActor } from '../policy/subject-view.js';
import type { ValidatedToken } from '../subject-tokens/validated-token.js';

// Deep enough for any chain actbridge would accept (MAX_CHAIN_DEPTH); a deeper one is refused by the
// delegation core anyway, and the view then shows no actors.
const VIEW_CHAIN_LIMIT = 64;

export function buildSubjectView(token: ValidatedToken, clientId: string): SubjectView {
  return {
    claims: token.claims,
    attributes: token.attributes ?? attributesFromClaims(token.claims),
    name_id: token.nameId?.value ?? '',
    name_id_format: token.nameId?.format ?? '',
    issuer: token.anchor.issuer,
    token_type: token.tokenType,
    sub: token.principal.sub,
    scopes: token.scope ?? [],
    actors: actorsOf(token.act, token.anchor.issuer),
    client_id: clientId,
  };
}

/** For a JWT: every claim whose value is a string or a list of strings, as a list of strings. */
function attributesFromClaims(claims: Readonly<Record<string, unknown>>): Record<string, string[]> {
  // Object.fromEntries defines own properties: a claim named `__proto__` (a legal JSON member, RFC 8259
  // §4) is an attribute like any other, not an assignment that turns the map into a list.
  return Object.fromEntries(
    Object.entries(claims).flatMap(([name, value]): Array<[string, string[]]> => {
      if (typeof value === 'string') return [[name, [value]]];
      if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return [[name, [...(value as string[])]]];
      return [];
    }),
  );
}

/** As the issued token records them (delegation/actor-checks.ts): an actor without iss is named by `issuer`. */
function actorsOf(act: unknown, issuer: string): ViewActor[] {
  if (act === undefined) return [];
  const parsed = parseActChain(act, VIEW_CHAIN_LIMIT, issuer);
  if (!parsed.ok) return [];
  const actors: ViewActor[] = [];
  for (let level: typeof parsed.act | undefined = parsed.act; level; level = level.act) {
    actors.push({
      sub: level.sub,
      ...(level.iss === undefined ? {} : { iss: level.iss }),
      ...(level.client_id === undefined ? {} : { client_id: level.client_id }),
    });
  }
  return actors;
}
