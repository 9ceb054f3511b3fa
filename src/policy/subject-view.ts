/**
 * What policy expressions read (docs/policy.md): the engine's input, built by the delegation core from
 * a validated token (delegation/subject-view.ts).
 */
/** An actor of the presented chain as policies see it: identity members only. */
export interface ViewActor {
  readonly sub: string;
  readonly iss?: string;
  readonly client_id?: string;
}

/**
 * The one view of a subject that policy expressions read, whatever the token's format. Built from the
 * validated token only (never from unverified input); documented in trust-anchors/README.md.
 */
export interface SubjectView {
  /** JWT claims as verified; for a SAML assertion, the attributes flattened (one value → string, several → list). */
  readonly claims: Readonly<Record<string, unknown>>;
  /** SAML attributes by Name (or the anchor's friendly name for it), every value a string; for a JWT, each string or list-of-strings claim. */
  readonly attributes: Readonly<Record<string, readonly string[]>>;
  /** SAML NameID and its Format; '' for a JWT (and for a NameID without Format). */
  readonly name_id: string;
  readonly name_id_format: string;
  /** The trust anchor's issuer (JWT `iss`, SAML Issuer) that vouched for the token. */
  readonly issuer: string;
  /** The subject_token_type URN the token was presented as. */
  readonly token_type: string;
  /** The subject as the token names it: JWT `sub`, or the SAML NameID. */
  readonly sub: string;
  /** The token's own scope (`scope` / `scp`); [] when it carries none. */
  readonly scopes: readonly string[];
  /** The token's existing `act` chain, current (outermost) actor first; [] when none or malformed. */
  readonly actors: readonly ViewActor[];
  /** The authenticated client presenting the token. */
  readonly client_id: string;
}

/** CEL declarations of the view's variables, in the order the docs list them. */
export const VIEW_VARIABLES: ReadonlyArray<readonly [keyof SubjectView, string]> = [
  ['claims', 'map<string, dyn>'],
  ['attributes', 'map<string, list<string>>'],
  ['name_id', 'string'],
  ['name_id_format', 'string'],
  ['issuer', 'string'],
  ['token_type', 'string'],
  ['sub', 'string'],
  ['scopes', 'list<string>'],
  ['actors', 'list<map<string, string>>'],
  ['client_id', 'string'],
];
