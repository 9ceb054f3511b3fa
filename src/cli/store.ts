/**
 * The shared store's epoch marker, for operators (same environment as the server, REDIS_URL set):
 *   npm run -s store -- status
 *   npm run -s store -- confirm-reset [--note "why"]
 * `status` says whether the store's memory is trusted and, if not, since when and until when
 * replay-sensitive and revocation-sensitive requests are refused. `confirm-reset` accepts that the store
 * lost entries and lets every instance resume those checks at its next look at the marker (within a
 * second of its next such request or readiness probe): use it when the loss is known to be harmless,
 * e.g. a store that never held anything, or after the single-use windows have passed by other means.
 * Exit code: 0 done, 1 the store could not be reached, 2 usage or configuration error.
 */
import 'reflect-metadata';
import { hostname, userInfo } from 'node:os';
import { parseCliArgs } from './cli-args.js';
import { Redis } from 'ioredis';
import { ConfigError } from '../config/config-error.js';
import { loadStsConfig } from '../app/sts-config.js';
import { storeWindows } from '../app/store-windows.js';
import { confirmStoreReset, EPOCH_KEY, parseMarker } from '../stores/store-epoch.js';
import { clock } from '../common/clock.js';
import { printable } from '../common/printable.js';

const USAGE = 'usage: npm run -s store -- status | confirm-reset [--note "<why>"]\n';

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseCliArgs({ options: { note: { type: 'string' } }, allowPositionals: true, strict: true });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const command = parsed.positionals[0];
  if (parsed.positionals.length !== 1 || (command !== 'status' && command !== 'confirm-reset')) {
    process.stderr.write(USAGE);
    return 2;
  }
  let config;
  try {
    // Not a server: the configured files are read as given, to find REDIS_URL and the windows.
    config = loadStsConfig(process.env, 'development');
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`store: configuration error: ${error.message}\n`);
    return 2;
  }
  if (!config.server.redisUrl) {
    process.stderr.write('store: REDIS_URL is not set: the replay store is in process memory, nothing to confirm\n');
    return 2;
  }
  const redis = new Redis(config.server.redisUrl, {
    maxRetriesPerRequest: 0,
    connectTimeout: 5000,
    commandTimeout: 5000,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    if (command === 'confirm-reset') {
      const note = parsed.values.note ?? `confirm-reset by ${userInfo().username}@${hostname()}`;
      const marker = await confirmStoreReset(redis, note);
      process.stdout.write(
        `confirmed: epoch ${marker.epoch}; instances resume single-use and revocation checks (note: ${printable(note)})\n`,
      );
      return 0;
    }
    const raw = await redis.get(EPOCH_KEY);
    const marker = raw === null ? undefined : parseMarker(raw);
    if (!marker) {
      process.stdout.write(
        raw === null
          ? 'no epoch marker: the store is new, or lost its data; the next instance to connect records it\n'
          : `unreadable epoch marker: ${printable(raw.slice(0, 200))}\n`,
      );
      return 0;
    }
    const windows = storeWindows(config);
    const now = clock.ms() / 1000;
    const lines = [`epoch ${marker.epoch}`];
    if (marker.lost_at === null) {
      lines.push('memory: intact');
    } else {
      lines.push(`lost at ${iso(marker.lost_at)}: ${printable(marker.reason ?? 'store data lost')}`);
      for (const memory of ['replay', 'revocation'] as const) {
        const until = marker.lost_at + windows[memory].seconds;
        lines.push(
          `${memory}-sensitive requests: ${until > now ? `refused until ${iso(until)}` : 'served'} (${windows[memory].seconds} s: ${windows[memory].basis})`,
        );
      }
    }
    if (marker.confirmed_at !== undefined) {
      lines.push(`confirmed at ${iso(marker.confirmed_at)}: ${printable(marker.note ?? '')}`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`store: cannot reach the store: ${(error as Error).message}\n`);
    return 1;
  } finally {
    redis.disconnect();
  }
}

function iso(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString();
}

process.exitCode = await main();
