/** How long some remembered state must be kept, seconds, and which setting makes it that long. */
export interface RetentionWindow {
  readonly seconds: number;
  readonly basis: string;
}

/** The longest retention of each kind of state the shared store keeps. */
export interface StoreWindows {
  /** Single-use identifiers: a replay is possible until then if the store forgets them. */
  readonly replay: RetentionWindow;
  /** Revoked `jti`s: a revoked token is accepted again until then if the store forgets them. */
  readonly revocation: RetentionWindow;
}

/** Used when no configuration is at hand (a store opened on its own, e.g. in a test): one hour. */
export const DEFAULT_STORE_WINDOWS: StoreWindows = {
  replay: { seconds: 3600, basis: 'no configuration (one hour)' },
  revocation: { seconds: 3600, basis: 'no configuration (one hour)' },
};

/** The windows of this configuration (injection token). */
export const STORE_WINDOWS = Symbol('STORE_WINDOWS');
