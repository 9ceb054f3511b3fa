import type { LineageChild, LineageEntry, LineageInspection, LineageStore } from './lineage-store.js';
import { RedisConnection, type RedisConnectionOptions } from './redis-connection.js';
import { clock } from '../common/clock.js';

// KEYS[1] the entry, KEYS[2..] the children indexes of its parents; ARGV[1] the entry (JSON), ARGV[2] exp,
// ARGV[3] jti, ARGV[4] the key expiry (exp, at least a second ahead). An index lives as long as its longest-lived child (EXPIRETIME is -1 on a new key).
const RECORD = `
redis.call('SET', KEYS[1], ARGV[1], 'EXAT', ARGV[4])
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[2], ARGV[3])
  if redis.call('EXPIRETIME', KEYS[i]) < tonumber(ARGV[4]) then redis.call('EXPIREAT', KEYS[i], ARGV[4]) end
end
return 1`;

// KEYS[1] marker; ARGV[1] marker trusted, ARGV[2] entry prefix, ARGV[3] revocation prefix, ARGV[4..] the
// keys asked about. One round trip: the keys' recorded ancestors, then the first revoked key among all.
const INSPECT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local seen, all = {}, {}
for i = 4, #ARGV do
  if not seen[ARGV[i]] then seen[ARGV[i]] = true; all[#all + 1] = ARGV[i] end
end
local own = #all
for i = 1, own do
  local raw = redis.call('GET', ARGV[2] .. all[i])
  if raw then
    local ok, entry = pcall(cjson.decode, raw)
    if ok and type(entry) == 'table' and type(entry.ancestors) == 'table' then
      for _, key in ipairs(entry.ancestors) do
        if not seen[key] then seen[key] = true; all[#all + 1] = key end
      end
    end
  end
end
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
const CHILDREN = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
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
    this.connection.client.defineCommand('actbridgeLineageRecord', { lua: RECORD });
    this.connection.defineGuarded('actbridgeLineageInspect', INSPECT);
    this.connection.defineGuarded('actbridgeLineageGet', GET_MANY);
    this.connection.defineGuarded('actbridgeLineageChildren', CHILDREN);
  }

  private get childrenPrefix(): string {
    return `${this.prefix.replace(/:$/, '')}-children:`;
  }

  async record(entry: LineageEntry): Promise<void> {
    const expireAt = Math.max(Math.ceil(entry.exp), clock.seconds() + 1);
    const indexes = [...new Set([...entry.parents, entry.subject])].map((key) => this.childrenPrefix + key);
    const command = (this.connection.client as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)
      .actbridgeLineageRecord!;
    await command.call(
      this.connection.client,
      indexes.length + 1,
      this.prefix + entry.jti,
      ...indexes,
      JSON.stringify(entry),
      entry.exp,
      entry.jti,
      expireAt,
    );
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

  async children(keys: readonly string[]): Promise<LineageChild[]> {
    if (keys.length === 0) return [];
    const flat = (await this.connection.runGuarded(
      'revocation',
      'actbridgeLineageChildren',
      [],
      [this.childrenPrefix, clock.seconds(), ...keys],
    )) as string[];
    const found = new Map<string, number>();
    for (let i = 0; i + 1 < flat.length; i += 2) found.set(flat[i]!, Number(flat[i + 1]));
    return [...found].map(([jti, exp]) => ({ jti, exp }));
  }

  async close(): Promise<void> {
    if (this.owned) await this.connection.close();
  }
}
