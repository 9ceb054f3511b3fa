import { randomUUID } from 'node:crypto';
import { isIssuedJti } from './lineage-keys.js';
import { RedisConnection, type RedisConnectionOptions } from './redis-connection.js';
import type { PendingWalk, Revocation, RevocationStore, RevokedList } from './revocation-store.js';
import { clock } from '../common/clock.js';

// KEYS[1] marker, KEYS[2] the list, KEYS[3] the version; ARGV[1] marker trusted, ARGV[2] now.
const LIST = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
return {redis.call('GET', KEYS[3]) or '', redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')}`;
const VERSION = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
return redis.call('GET', KEYS[2]) or ''`;

/**
 * Shared revocation list: one key per revoked `jti` (or lineage key), expiring with the token
 * (`SET ... EXAT`), whose value is the key whose revocation reached it. Revoked issued `jti`s are also in
 * a sorted set by expiry (the feed), whose version is a random value replaced on every change: a
 * version is never reused, even by a store that lost its data.
 */
export class RedisRevocationStore implements RevocationStore {
  private readonly connection: RedisConnection;
  /** True when this store opened the connection itself (and so closes it). */
  private readonly owned: boolean;
  private readonly listKey: string;
  private readonly versionKey: string;
  /** Walks begun and not ended: a sorted set of `exp key` by when they began (ms). */
  private readonly walksKey: string;

  /** @param connection a shared connection, or a Redis URL to open one of its own. */
  constructor(
    connection: RedisConnection | string,
    readonly prefix = 'actbridge:revoked:',
    options: RedisConnectionOptions = {},
  ) {
    this.owned = typeof connection === 'string';
    this.connection = typeof connection === 'string' ? new RedisConnection(connection, options) : connection;
    this.listKey = `${prefix.replace(/:$/, '')}-list`;
    this.versionKey = `${prefix.replace(/:$/, '')}-version`;
    this.walksKey = `${prefix.replace(/:$/, '')}-walks`;
    this.connection.defineGuarded('actbridgeRevokedList', LIST);
    this.connection.defineGuarded('actbridgeRevokedVersion', VERSION);
  }

  async revoke(jti: string, expiresAt: number): Promise<void> {
    await this.revokeMany([{ key: jti, exp: expiresAt, origin: jti }]);
  }

  revokeMany(revocations: readonly Revocation[]): Promise<readonly string[]> {
    return this.revokeInOneStep(revocations);
  }

  /** The start's flag and its walk's mark in one MULTI: no flag without the mark. */
  beginWalk(start: Revocation): Promise<readonly string[]> {
    return this.revokeInOneStep([start], start);
  }

  async endWalk(walk: PendingWalk): Promise<void> {
    await this.connection.client.zrem(this.walksKey, `${walk.exp} ${walk.key}`);
  }

  async pendingWalks(olderThanMs: number, limit: number): Promise<PendingWalk[]> {
    const members = await this.connection.client.zrangebyscore(
      this.walksKey,
      '-inf',
      clock.ms() - olderThanMs,
      'LIMIT',
      0,
      limit,
    );
    const now = clock.seconds();
    const walks: PendingWalk[] = [];
    const expired: string[] = [];
    for (const member of members) {
      const space = member.indexOf(' ');
      const exp = Number(member.slice(0, space));
      // Its descendants end no later than it: nothing is left to walk.
      if (!(exp > now)) expired.push(member);
      else walks.push({ key: member.slice(space + 1), exp });
    }
    if (expired.length > 0) await this.connection.client.zrem(this.walksKey, ...expired);
    return walks;
  }

  /** One MULTI for the whole batch: the flags, the feed's entries and its new version (and a walk's mark). */
  private async revokeInOneStep(revocations: readonly Revocation[], walk?: PendingWalk): Promise<readonly string[]> {
    if (revocations.length === 0) return [];
    const floor = clock.seconds() + 1;
    const multi = this.connection.client.multi();
    if (walk) multi.zadd(this.walksKey, clock.ms(), `${walk.exp} ${walk.key}`);
    let listed = false;
    /** Where each flag's SET answers in the transaction's results ('OK' when the key was not revoked before). */
    const sets: number[] = [];
    let commands = walk ? 1 : 0;
    for (const { key, exp, origin } of revocations) {
      const at = Math.max(Math.ceil(exp), floor);
      // NX keeps the first origin (a direct revocation stays direct); the expiry only ever grows.
      sets.push(commands);
      commands += isIssuedJti(key) ? 3 : 2;
      multi.set(this.prefix + key, origin, 'EXAT', at, 'NX');
      multi.expireat(this.prefix + key, at, 'GT');
      if (isIssuedJti(key)) {
        listed = true;
        multi.zadd(this.listKey, 'GT', at, key);
      }
    }
    if (listed) {
      multi.set(this.versionKey, randomUUID());
      // The feed has no expiry of its own: its expired entries go here too, not only when the list is
      // read (a deployment whose resource servers never read it would keep every revocation forever).
      multi.zremrangebyscore(this.listKey, '-inf', floor - 1);
    }
    const results = await multi.exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw failed?.[0] ?? new Error('revocation transaction aborted');
    return revocations.filter((_, i) => results[sets[i]!]![1] === 'OK').map((r) => r.key);
  }

  /** Only answers while the store remembers every revocation it was told (StoreEpoch). */
  isRevoked(key: string): Promise<boolean> {
    return this.connection.existsInEpoch(this.prefix + key, 'revocation');
  }

  async list(): Promise<RevokedList> {
    const [version, flat] = (await this.connection.runGuarded(
      'revocation',
      'actbridgeRevokedList',
      [this.listKey, this.versionKey],
      [clock.seconds()],
    )) as [string, string[]];
    const entries: Array<{ jti: string; exp: number }> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) entries.push({ jti: flat[i]!, exp: Number(flat[i + 1]) });
    return { version, entries };
  }

  async version(): Promise<string> {
    return (await this.connection.runGuarded('revocation', 'actbridgeRevokedVersion', [this.versionKey], [])) as string;
  }

  async close(): Promise<void> {
    if (this.owned) await this.connection.close();
  }
}
