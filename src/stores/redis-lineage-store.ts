import {
  MAX_ANCESTORS,
  type LineageChild,
  type LineageEntry,
  type LineageInspection,
  type LineageStore,
  type NewLineageEntry,
  type RecordOutcome,
} from './lineage-store.js';
import { RedisConnection, type RedisConnectionOptions } from './redis-connection.js';
import { clock } from '../common/clock.js';

// Lua shared by RECORD and INSPECT: appends the ancestors recorded in an entry (`raw`, its stored JSON,
// or false when there is none) to `all`, each once (`seen`).
const ADD_ANCESTORS = `
local function addAncestors(raw, seen, all)
  if not raw then return end
  local ok, entry = pcall(cjson.decode, raw)
  if ok and type(entry) == 'table' and type(entry.ancestors) == 'table' then
    for _, key in ipairs(entry.ancestors) do
      if not seen[key] then seen[key] = true; all[#all + 1] = key end
    end
  end
end`;

// KEYS[1] marker; ARGV[1] marker trusted, ARGV[2] entry prefix, ARGV[3] revocation prefix, ARGV[4]
// children prefix, ARGV[5] the entry as JSON without its closing brace, ARGV[6] jti, ARGV[7] exp (score),
// ARGV[8] key expiry, ARGV[9] most ancestors (an empty ARGV[1]: recorded whatever the marker says), ARGV[10] now,
// ARGV[11] number of parents, then the parents, then the other known ancestors (the subject key last).
// Gathers the ancestors, refuses if one is revoked (or they are too many), else writes the entry and
// adds the token to the children of its parents, known keys and subject, each index living as long as its
// longest-lived child (EXPIRETIME is -1 on a new key) and dropping its expired children: a subject's index
// lives as long as the subject keeps getting tokens, and would otherwise keep every one it ever had.
const RECORD = `${ADD_ANCESTORS}
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local parents = tonumber(ARGV[11])
local seen, all = {}, {}
for i = 12, #ARGV do
  if not seen[ARGV[i]] then seen[ARGV[i]] = true; all[#all + 1] = ARGV[i] end
end
for i = 12, 11 + parents do addAncestors(redis.call('GET', ARGV[2] .. ARGV[i]), seen, all) end
for _, key in ipairs(all) do
  local origin = redis.call('GET', ARGV[3] .. key)
  if origin then return {0, #all, key, origin} end
end
if #all > tonumber(ARGV[9]) then return {0, #all} end
redis.call('SET', ARGV[2] .. ARGV[6], ARGV[5] .. ',"ancestors":' .. cjson.encode(all) .. '}', 'EXAT', ARGV[8])
local indexes = {}
for i = 12, #ARGV do indexes[ARGV[i]] = true end
for key in pairs(indexes) do
  local index = ARGV[4] .. key
  redis.call('ZREMRANGEBYSCORE', index, '-inf', ARGV[10])
  redis.call('ZADD', index, ARGV[7], ARGV[6])
  if redis.call('EXPIRETIME', index) < tonumber(ARGV[8]) then redis.call('EXPIREAT', index, ARGV[8]) end
end
return {1, #all}`;

// KEYS[1] marker; ARGV[1] marker trusted, ARGV[2] entry prefix, ARGV[3] revocation prefix, ARGV[4..] the
// keys asked about. One round trip: the keys' recorded ancestors, then the first revoked key among all.
const INSPECT = `${ADD_ANCESTORS}
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local seen, all = {}, {}
for i = 4, #ARGV do
  if not seen[ARGV[i]] then seen[ARGV[i]] = true; all[#all + 1] = ARGV[i] end
end
local own = #all
for i = 1, own do addAncestors(redis.call('GET', ARGV[2] .. all[i]), seen, all) end
local result = {'', ''}
for _, key in ipairs(all) do
  local origin = redis.call('GET', ARGV[3] .. key)
  if origin then result = {key, origin}; break end
end
for i = own + 1, #all do result[#result + 1] = all[i] end
return result`;

// KEYS[1] marker; ARGV[1] marker trusted, ARGV[2] prefix, ARGV[3] now, ARGV[4..] keys.
const GET_MANY = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local result = {}
for i = 4, #ARGV do result[#result + 1] = redis.call('GET', ARGV[2] .. ARGV[i]) or '' end
return result`;
// An empty ARGV[1]: read whatever the marker says (a cascade: LineageStore.children).
const CHILDREN = `
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local result = {}
for i = 4, #ARGV do
  local found = redis.call('ZRANGEBYSCORE', ARGV[2] .. ARGV[i], '(' .. ARGV[3], '+inf', 'WITHSCORES')
  for _, value in ipairs(found) do result[#result + 1] = value end
end
return result`;

/**
 * Shared lineage: one JSON entry per issued `jti` (`actbridge:lineage:<jti>`, expiring with the token)
 * and, per parent, a sorted set of its children by expiry (`actbridge:lineage-children:<key>`, expiring
 * with its last child). Reads are checked against the epoch marker in the same script, like revocations.
 */
export class RedisLineageStore implements LineageStore {
  private readonly connection: RedisConnection;
  private readonly owned: boolean;

  /**
   * @param connection a shared connection, or a Redis URL to open one of its own.
   * @param revokedPrefix where the revocation store keeps its flags (RedisRevocationStore).
   */
  constructor(
    connection: RedisConnection | string,
    private readonly revokedPrefix = 'actbridge:revoked:',
    private readonly prefix = 'actbridge:lineage:',
    options: RedisConnectionOptions = {},
  ) {
    this.owned = typeof connection === 'string';
    this.connection = typeof connection === 'string' ? new RedisConnection(connection, options) : connection;
    this.connection.defineGuarded('actbridgeLineageRecord', RECORD);
    this.connection.defineGuarded('actbridgeLineageInspect', INSPECT);
    this.connection.defineGuarded('actbridgeLineageGet', GET_MANY);
    this.connection.defineGuarded('actbridgeLineageChildren', CHILDREN);
  }

  /** Runs a command defined by defineGuarded whatever the epoch marker says (its script skips an empty trusted value). */
  private unguarded(name: string, args: ReadonlyArray<string | number>): Promise<unknown> {
    const client = this.connection.client as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    return client[name]!.call(this.connection.client, 1, this.connection.epoch.key, '', ...args);
  }

  private get childrenPrefix(): string {
    return `${this.prefix.replace(/:$/, '')}-children:`;
  }

  /**
   * A token whose parents are all upstream roots is recorded even while the store's memory is in doubt
   * (nothing it descends from could have been forgotten but root and subject revocations, which an
   * operator repeats after a loss: docs/lineage.md); one with a parent actbridge issued is not.
   */
  async record(token: NewLineageEntry, known: readonly string[]): Promise<RecordOutcome> {
    const expireAt = Math.max(Math.ceil(token.exp), clock.seconds() + 1);
    const json = JSON.stringify(token);
    const others = known.filter((key) => key !== token.subject);
    const args = [
      this.prefix,
      this.revokedPrefix,
      this.childrenPrefix,
      json.slice(0, -1),
      token.jti,
      token.exp,
      expireAt,
      MAX_ANCESTORS,
      clock.seconds(),
      token.parents.length,
      ...token.parents,
      ...others,
      token.subject,
    ];
    const result = token.parents.every((parent) => parent.startsWith('root:'))
      ? await this.unguarded('actbridgeLineageRecord', args)
      : await this.connection.runGuarded('revocation', 'actbridgeLineageRecord', [], args);
    const [recorded, ancestors, key, origin] = result as [number, number, string?, string?];
    if (recorded === 1) return { recorded: true, ancestors };
    return { recorded: false, ancestors, ...(key ? { revoked: { key, origin: origin! } } : {}) };
  }

  async inspect(keys: readonly string[]): Promise<LineageInspection> {
    const [key, origin, ...ancestors] = (await this.connection.runGuarded(
      'revocation',
      'actbridgeLineageInspect',
      [],
      [this.prefix, this.revokedPrefix, ...keys],
    )) as string[];
    return key ? { revoked: { key, origin: origin! }, ancestors } : { ancestors };
  }

  async entries(jtis: readonly string[]): Promise<Array<LineageEntry | undefined>> {
    if (jtis.length === 0) return [];
    const found = (await this.connection.runGuarded(
      'revocation',
      'actbridgeLineageGet',
      [],
      [this.prefix, 0, ...jtis],
    )) as string[];
    return found.map((raw) => (raw ? (JSON.parse(raw) as LineageEntry) : undefined));
  }

  async children(keys: readonly string[], revoking = false): Promise<LineageChild[]> {
    if (keys.length === 0) return [];
    const args = [this.childrenPrefix, clock.seconds(), ...keys];
    const flat = (
      revoking
        ? await this.unguarded('actbridgeLineageChildren', args)
        : await this.connection.runGuarded('revocation', 'actbridgeLineageChildren', [], args)
    ) as string[];
    const found = new Map<string, number>();
    for (let i = 0; i + 1 < flat.length; i += 2) found.set(flat[i]!, Number(flat[i + 1]));
    return [...found].map(([jti, exp]) => ({ jti, exp }));
  }

  async close(): Promise<void> {
    if (this.owned) await this.connection.close();
  }
}
