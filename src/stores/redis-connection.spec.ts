import { afterEach, beforeEach, expect, it, jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { corkEachTurn } from './redis-connection.js';
import { describeWithRedis, REDIS_TEST_URL } from '../../test/support/redis.js';

const describeRedis = await describeWithRedis();

describeRedis('corkEachTurn: the commands of one event-loop turn in one write', () => {
  let client: Redis;
  const prefix = `actbridge-test:cork:${randomUUID()}:`;
  /** What reached the socket: one entry per system-call-level write, with the number of commands in it. */
  let writes: number[];

  beforeEach(async () => {
    client = new Redis(REDIS_TEST_URL, { maxRetriesPerRequest: 1, enableAutoPipelining: false });
    corkEachTurn(client);
    await client.ping();
    writes = [];
    const socket = client.stream as unknown as {
      _write(chunk: unknown, encoding: unknown, cb: unknown): void;
      _writev(chunks: unknown[], cb: unknown): void;
    };
    const write = socket._write.bind(socket);
    const writev = socket._writev.bind(socket);
    jest.spyOn(socket, '_write').mockImplementation((chunk, encoding, cb) => {
      writes.push(1);
      write(chunk, encoding, cb);
    });
    jest.spyOn(socket, '_writev').mockImplementation((chunks, cb) => {
      writes.push(chunks.length);
      writev(chunks, cb);
    });
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
    client.disconnect();
  });

  it('sends the commands of one turn in one write, each answered with its own reply', async () => {
    const replies = await Promise.all(
      Array.from({ length: 5 }, (_, i) => client.set(`${prefix}${i}`, `v${i}`).then(() => client.get(`${prefix}${i}`))),
    );
    expect(replies).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
    // Five SETs in the first turn, then the five GETs in the turn their replies arrived in (or a few).
    expect(writes[0]).toBe(5);
    expect(writes.reduce((a, b) => a + b, 0)).toBe(10);
  });

  it('writes commands of different turns separately, without waiting for earlier replies', async () => {
    const first = client.set(`${prefix}a`, '1');
    await new Promise((resolve) => setImmediate(resolve));
    const second = client.set(`${prefix}b`, '2');
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toEqual([1, 1]);
    expect(await Promise.all([first, second])).toEqual(['OK', 'OK']);
  });

  it('passes a transaction through, written once, between commands of the same turn', async () => {
    const before = client.incr(`${prefix}n`);
    const multi = client.multi().incr(`${prefix}n`).incr(`${prefix}n`).exec();
    const after = client.get(`${prefix}n`);
    expect(await before).toBe(1);
    expect(await multi).toEqual([
      [null, 2],
      [null, 3],
    ]);
    expect(await after).toBe('3');
  });
});
