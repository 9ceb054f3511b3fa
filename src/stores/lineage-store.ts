/** The lineage of one token actbridge issued (an access token or an ID-JAG), kept until its `exp`. */
export interface LineageEntry {
  readonly jti: string;
  /**
   * Direct parents: the `jti`s of the presented tokens actbridge issued, the root keys of the others
   * (lineage-keys.ts), subject token first.
   */
  readonly parents: readonly string[];
  /** Every key above this token: parents, their ancestors, root and subject keys. Checked at each use. */
  readonly ancestors: readonly string[];
  /** The `sub:` key of the issued token's subject (its children index holds this token). */
  readonly subject: string;
  readonly client_id: string;
  /** The current actor (outermost `act.sub`), when the token records one. */
  readonly actor?: string;
  readonly audience: readonly string[];
  /** `at+jwt` or `oauth-id-jag+jwt`. */
  readonly typ: string;
  readonly iat: number;
  readonly exp: number;
}

/** A token's child, as the children index holds it: enough to revoke it until its expiry. */
export interface LineageChild {
  readonly jti: string;
  readonly exp: number;
}

/** A token about to be recorded: its ancestors are found by the store from its parents' entries. */
export type NewLineageEntry = Omit<LineageEntry, 'ancestors'>;

/** What `record` did: recorded, or refused because a key above the token is revoked or there are too many. */
export type RecordOutcome =
  | { readonly recorded: true; readonly ancestors: number }
  | {
      readonly recorded: false;
      readonly revoked?: { readonly key: string; readonly origin: string };
      readonly ancestors?: number;
    };

/** What the store says about a presented token and what it descends from. */
export interface LineageInspection {
  /** The first revoked key among the token's own keys and their ancestors, and the key whose revocation reached it. */
  readonly revoked?: { readonly key: string; readonly origin: string };
  /** The recorded ancestors of the keys asked about (not the keys themselves). */
  readonly ancestors: readonly string[];
}

/**
 * Who was issued from whom. Shared across instances when Redis is configured, like the revocation
 * flags it is read with; its reads (`inspect`, `entries`, `children`) answer only while the store
 * remembers (StoreEpoch, revocation window): a store that lost the lineage cannot say what descends
 * from a revoked token. Entries and children live until the child's `exp`.
 */
export interface LineageStore {
  /**
   * In one atomic step (one Redis round trip): gathers the ancestors (`parents`, `known` keys, the
   * subject, and the parents' recorded ancestors), refuses if any is revoked or there are more than
   * MAX_ANCESTORS, else records the entry and its place in the children indexes of its parents, its
   * `known` keys and its subject (revoking any of them reaches it).
   * Atomic with revocations: a token is either recorded before a revocation above it (and the cascade
   * finds it) or refused.
   */
  record(entry: NewLineageEntry, known: readonly string[]): Promise<RecordOutcome>;
  /** Revocation of `keys` (a presented token's `jti`, or its root and subject keys) and of their ancestors. */
  inspect(keys: readonly string[]): Promise<LineageInspection>;
  /** The recorded entries of `jtis` (undefined: unknown or expired), in order. */
  entries(jtis: readonly string[]): Promise<Array<LineageEntry | undefined>>;
  /**
   * The live children of every key given, each once. `revoking`: for a cascade, answered even while the
   * store's memory is in doubt (what it holds since the loss): revoking those only adds refusals, and
   * what it forgot expires within the revocation window.
   */
  children(keys: readonly string[], revoking?: boolean): Promise<LineageChild[]>;
  close?(): Promise<void>;
}

export const LINEAGE_STORE = Symbol('LINEAGE_STORE');

/** Most ancestors one token may have (its lineage is checked at every use, so it must stay small). */
export const MAX_ANCESTORS = 256;
