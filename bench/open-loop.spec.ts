import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { median, openLoop, quantile, responseLength } from './open-loop.js';

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('responseLength (the generator reads HTTP/1.1 responses)', () => {
  const json = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nContent-Length: 7\r\n\r\n{"a":1}';

  it('frames a response by its content-length, and waits for the rest', () => {
    expect(responseLength(bytes(json))).toEqual({ length: json.length, status: 200, close: false });
    expect(responseLength(bytes(json.slice(0, -1))).length).toBe(0);
    expect(responseLength(bytes(json.slice(0, 20))).length).toBe(0);
  });

  it('frames a chunked response, with or without trailers', () => {
    const head = 'HTTP/1.1 400 Bad Request\r\ntransfer-encoding: chunked\r\n\r\n';
    const chunked = `${head}3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n`;
    expect(responseLength(bytes(chunked))).toEqual({ length: chunked.length, status: 400, close: false });
    expect(responseLength(bytes(chunked.slice(0, -2))).length).toBe(0);
    const trailers = `${head}3\r\nabc\r\n0\r\nx-t: 1\r\n\r\n`;
    expect(responseLength(bytes(trailers)).length).toBe(trailers.length);
  });

  it('reads connection: close, and 204 without a body', () => {
    const r = 'HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n';
    expect(responseLength(bytes(r))).toEqual({ length: r.length, status: 204, close: true });
  });

  it('refuses what it cannot frame', () => {
    expect(responseLength(bytes('garbage\r\n\r\n')).length).toBe(-1);
    expect(responseLength(bytes('HTTP/1.1 200 OK\r\n\r\nbody until close')).length).toBe(-1);
    expect(responseLength(bytes(`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n`)).length).toBe(-1);
    expect(responseLength(Buffer.alloc(70 * 1024, 0x41)).length).toBe(-1);
  });
});

describe('openLoop', () => {
  let server: HttpServer | Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
    server = undefined;
  });
  const listen = async (s: HttpServer | Server): Promise<string> => {
    server = s;
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}/token?x=1`;
  };
  const plan = (url: string, n: number, rate = 200) => ({
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    bodies: Array.from({ length: n }, (_, i) => `n=${i}`),
    rate,
  });

  it('sends every body once, with its headers, and times every response', async () => {
    const seen: string[] = [];
    const url = await listen(
      createHttpServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          seen.push(`${req.method} ${req.url} ${req.headers['content-type']} ${body}`);
          // Alternate framings: content-length and chunked.
          if (seen.length % 2) res.end('{"ok":true}');
          else {
            res.write('{"ok":');
            res.end('true}');
          }
        });
      }),
    );
    const outcome = await openLoop(plan(url, 40));
    // Requests go out in order but on several connections, so a busy machine may deliver them out of order.
    const byN = (line: string): number => Number(line.slice(line.lastIndexOf('=') + 1));
    expect(seen.sort((a, b) => byN(a) - byN(b))).toEqual(
      Array.from({ length: 40 }, (_, i) => `POST /token?x=1 application/x-www-form-urlencoded n=${i}`),
    );
    expect(outcome.latencies).toHaveLength(40);
    expect(outcome.sendLags).toHaveLength(40);
    expect(outcome.errors).toBe(0);
    expect(outcome.non2xx).toBe(0);
    expect(quantile(outcome.latencies, 0.99)).toBeGreaterThanOrEqual(quantile(outcome.latencies, 0.5));
  });

  it('counts non-2xx answers', async () => {
    const url = await listen(
      createHttpServer((req, res) => {
        req.resume();
        req.on('end', () =>
          res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_grant"}'),
        );
      }),
    );
    const outcome = await openLoop(plan(url, 10));
    expect(outcome).toMatchObject({ non2xx: 10, errors: 0 });
  });

  it('counts a connection closed without an answer, and an answer that is not HTTP, as errors', async () => {
    let n = 0;
    const url = await listen(
      createNetServer((socket) => {
        socket.once('data', () => (n++ % 2 ? socket.destroy() : socket.end('not http\r\n\r\n')));
      }),
    );
    const outcome = await openLoop(plan(url, 10));
    expect(outcome).toMatchObject({ errors: 10, latencies: [] });
  });

  it('the median of unsorted figures: the middle one, the upper of an even count, the input untouched', () => {
    const figures = [30, 10, 20];
    expect(median(figures)).toBe(20);
    expect(figures).toEqual([30, 10, 20]);
    expect(median([4, 1, 3, 2])).toBe(3);
    expect(median([7])).toBe(7);
  });
});
