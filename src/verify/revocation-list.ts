import { errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { readCappedBody } from '../common/capped-body.js';
import { AccessTokenError } from './access-token-error.js';

/** actbridge's revocation list (docs/lineage.md), polled in the background. */
export interface RevocationListOptions {
  /** Seconds between refreshes (default 30). */
  readonly refreshInterval?: number;
  /**
   * Seconds since the last successful refresh after which every token is refused with 503
   * `temporarily_unavailable`, since revocations may have been missed (default 300).
   */
  readonly maxStaleness?: number;
  /** The list's URL (default: `revocation_list_uri` from actbridge's metadata). */
  readonly url?: string;
}

/** Largest list read (about a million revoked tokens). */
export const MAX_LIST_BYTES = 64 * 1024 * 1024;

/** Must match actbridge's REVOCATION_LIST_TYP (introspection/revocation-list.routes.ts). */
const TYP = 'revocation-list+jwt';

/**
 * The revoked `jti`s, refreshed every `refreshInterval` with `If-None-Match`; verification only looks
 * them up (no network call per token). The list is accepted only when signed by actbridge's keys,
 * `typ: revocation-list+jwt`, from its issuer, unexpired, and not older than the one held (so an old
 * list cannot be replayed to hide a revocation). A failed refresh keeps the last list; once none has
 * succeeded for `maxStaleness`, tokens are refused until one does.
 */
export class RevocationListPoller {
  private revoked = new Map<string, number>();
  private etag: string | undefined;
  private issuedAt = 0;
  private expiresAt = 0;
  private refreshedAt = Number.NEGATIVE_INFINITY;
  private lastError = 'not fetched yet';
  private readonly first: Promise<void>;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    private readonly url: string,
    private readonly keys: JWTVerifyGetKey,
    private readonly settings: {
      readonly issuer: string;
      readonly algorithms: string[];
      readonly clockTolerance: number;
      readonly timeout: number;
      readonly options: RevocationListOptions;
    },
  ) {
    this.first = this.refresh();
    // unref: polling alone never keeps the resource server's process alive.
    this.timer = setInterval(() => void this.refresh(), (settings.options.refreshInterval ?? 30) * 1000);
    this.timer.unref();
  }

  /** Whether `jti` is on the list; throws temporarily_unavailable while the list is too stale to trust. */
  async isRevoked(jti: string): Promise<boolean> {
    if (this.refreshedAt === Number.NEGATIVE_INFINITY) await this.first;
    const age = (Date.now() - this.refreshedAt) / 1000;
    if (age > (this.settings.options.maxStaleness ?? 300)) {
      throw new AccessTokenError(
        'temporarily_unavailable',
        `actbridge revocation list is stale (${Number.isFinite(age) ? `${Math.round(age)} s old` : 'never fetched'})`,
        undefined,
        this.lastError,
      );
    }
    return this.revoked.has(jti);
  }

  /** Fetches the list if it changed; never throws (the failure is kept for the stale message). */
  async refresh(): Promise<void> {
    try {
      // The list's exp bounds how long its content is trusted: a 304 revalidates the list held only while
      // it is unexpired; after that it is fetched afresh, else a 304 (from a stale cache, or anyone who can
      // answer for the list URL) would keep a list alive forever and hide every later revocation.
      const unexpired = Date.now() / 1000 < this.expiresAt + this.settings.clockTolerance;
      const response = await fetch(this.url, {
        headers: this.etag && unexpired ? { 'if-none-match': this.etag } : {},
        // As jose's JWKS fetch: a redirect is an answer (a failed refresh), not somewhere else to read from.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.settings.timeout * 1000),
      });
      if (response.status === 304) {
        if (!unexpired) throw new Error('304 for a list past its exp');
        this.refreshedAt = Date.now();
        return;
      }
      if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
      // Bounded: a list of ~40 bytes per revoked jti; a larger answer is no list of actbridge's.
      const body = await readCappedBody(response, MAX_LIST_BYTES, this.settings.timeout * 1000, 'revocation list');
      await this.accept(body.toString('utf8'), response.headers.get('etag') ?? undefined);
    } catch (error) {
      this.lastError = error instanceof errors.JOSEError ? `list rejected: ${error.message}` : (error as Error).message;
    }
  }

  private async accept(token: string, etag: string | undefined): Promise<void> {
    const { payload } = await jwtVerify(token, this.keys, {
      issuer: this.settings.issuer,
      typ: TYP,
      algorithms: this.settings.algorithms,
      clockTolerance: this.settings.clockTolerance,
      requiredClaims: ['iat', 'exp'],
    });
    const iat = payload.iat!;
    const exp = payload.exp!;
    if (iat < this.issuedAt) throw new Error('list is older than the one already held');
    if (iat > Date.now() / 1000 + this.settings.clockTolerance) throw new Error('list is issued in the future');
    if (!Array.isArray(payload.revoked)) throw new Error('list has no revoked array');
    const revoked = new Map<string, number>();
    for (const item of payload.revoked as unknown[]) {
      const { jti, exp } = (item ?? {}) as { jti?: unknown; exp?: unknown };
      if (typeof jti !== 'string' || typeof exp !== 'number') throw new Error('list has a malformed entry');
      revoked.set(jti, exp);
    }
    // actbridge lists a revoked token until its exp, but `verify` accepts a token clockTolerance longer:
    // one the new list dropped as expired stays refused until then, rather than coming back to life.
    const now = Date.now() / 1000;
    for (const [jti, exp] of this.revoked) {
      if (!revoked.has(jti) && exp <= iat && exp + this.settings.clockTolerance > now) revoked.set(jti, exp);
    }
    this.revoked = revoked;
    this.issuedAt = iat;
    this.expiresAt = exp;
    this.etag = etag;
    this.refreshedAt = Date.now();
  }

  close(): void {
    clearInterval(this.timer);
  }
}
