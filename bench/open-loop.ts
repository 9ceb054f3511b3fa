import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/**
 * The open-loop generator itself: bodies POSTed at a fixed rate over plain HTTP/1.1 on net sockets, one
 * request at a time per connection, a new connection when every open one is busy. It imports nothing from
 * the harness so that it can run in a process of its own (open-loop-main.ts), away from the harness's heap
 * (pools of pre-signed tokens, every closed-loop result) and its pauses. Requests are written as
 * pre-encoded bytes and responses read by the few rules an HTTP/1.1 response can follow, so the generator
 * spends a small fraction of what node:http's client would on a core it shares with the server.
 */
export interface OpenLoopPlan {
  readonly url: string;
  readonly headers: Record<string, string>;
  /** One body per request, sent in order; their number and the rate set the run's length. */
  readonly bodies: readonly string[];
  /** Requests per second. */
  readonly rate: number;
}

export interface OpenLoopOutcome {
  /** Milliseconds from when each answered request was due to its response's last byte, ascending. */
  readonly latencies: number[];
  /** Milliseconds from when each request was due to when it was written, ascending: the generator's own lateness. */
  readonly sendLags: number[];
  readonly non2xx: number;
  /** Connection errors, responses that are not HTTP, and requests unanswered when the grace period ended. */
  readonly errors: number;
  readonly elapsedSec: number;
}

/** How long responses still outstanding at the end of a run are waited for. */
const GRACE_MS = 5000;

const HEAD_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

/**
 * Where the response at the start of `buf` ends (its length in bytes), 0 when more bytes are needed,
 * -1 when it is not a response this generator can read.
 */
export function responseLength(buf: Buffer): { length: number; status: number; close: boolean } {
  const headEnd = buf.indexOf(HEAD_END);
  if (headEnd < 0) return { length: buf.length > 64 * 1024 ? -1 : 0, status: 0, close: false };
  const head = buf.toString('latin1', 0, headEnd);
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(head);
  if (!status) return { length: -1, status: 0, close: false };
  const code = Number(status[1]);
  const close = /\r\nconnection:[ \t]*close/i.test(head);
  const bodyStart = headEnd + HEAD_END.length;
  if (/\r\ntransfer-encoding:[ \t]*chunked/i.test(head)) {
    // RFC 9112 §7.1: size line, data, CRLF, until a zero size; then trailers and an empty line.
    let at = bodyStart;
    for (;;) {
      const lineEnd = buf.indexOf(CRLF, at);
      if (lineEnd < 0) return { length: 0, status: 0, close };
      const size = parseInt(buf.toString('latin1', at, lineEnd), 16);
      if (!Number.isFinite(size) || size < 0) return { length: -1, status: 0, close };
      if (size === 0) {
        // The last chunk's line end begins the empty line itself when there are no trailers.
        const end = buf.indexOf(HEAD_END, lineEnd);
        return { length: end < 0 ? 0 : end + HEAD_END.length, status: code, close };
      }
      at = lineEnd + CRLF.length + size + CRLF.length;
      if (buf.length < at) return { length: 0, status: 0, close };
    }
  }
  const contentLength = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
  // No framing (RFC 9112 §6.3): 204 and 304 have no body; anything else would run until the close (and a
  // 1xx would precede the final response), which this generator does not read.
  if (!contentLength)
    return code === 204 || code === 304 ? { length: bodyStart, status: code, close } : { length: -1, status: 0, close };
  const end = bodyStart + Number(contentLength[1]);
  return { length: buf.length >= end ? end : 0, status: code, close };
}

/** Runs `plan`: every body sent at its due time, then at most GRACE_MS for the last responses. */
export async function openLoop(plan: OpenLoopPlan): Promise<OpenLoopOutcome> {
  const url = new URL(plan.url);
  const port = Number(url.port || 80);
  const fixed = Object.entries({ host: url.host, ...plan.headers })
    .filter(([name]) => name.toLowerCase() !== 'content-length')
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  const requests = plan.bodies.map((body) => {
    const bytes = Buffer.from(body);
    return Buffer.concat([
      Buffer.from(
        `POST ${url.pathname}${url.search} HTTP/1.1\r\n${fixed}content-length: ${bytes.length}\r\n\r\n`,
        'latin1',
      ),
      bytes,
    ]);
  });
  const total = requests.length;
  const latencies: number[] = [];
  const sendLags: number[] = [];
  let non2xx = 0;
  let errors = 0;
  let settled = 0;
  let allSettled: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (allSettled = resolve));
  const settle = (): void => {
    if (++settled === total) allSettled();
  };

  interface Connection {
    readonly socket: Socket;
    /** When the request in flight was due, or undefined when idle. */
    due: number | undefined;
    pending: Buffer | undefined;
  }
  const idle: Connection[] = [];
  const open = new Set<Connection>();

  const fail = (conn: Connection): void => {
    open.delete(conn);
    const i = idle.indexOf(conn);
    if (i >= 0) idle.splice(i, 1);
    if (conn.due !== undefined) {
      conn.due = undefined;
      errors++;
      settle();
    }
    conn.socket.destroy();
  };
  const newConnection = (): Connection => {
    const socket = connect({ host: url.hostname, port, noDelay: true });
    const conn: Connection = { socket, due: undefined, pending: undefined };
    open.add(conn);
    socket.on('data', (chunk: Buffer) => {
      const buf = conn.pending ? Buffer.concat([conn.pending, chunk]) : chunk;
      const { length, status, close } = responseLength(buf);
      if (length === 0) return void (conn.pending = buf);
      // Anything past one response on a connection that had one request in flight is not HTTP.
      if (length < 0 || length !== buf.length || conn.due === undefined) return fail(conn);
      latencies.push(performance.now() - conn.due);
      if (status < 200 || status >= 300) non2xx++;
      conn.due = undefined;
      conn.pending = undefined;
      settle();
      if (close) {
        open.delete(conn);
        socket.destroy();
      } else idle.push(conn);
    });
    socket.on('error', () => fail(conn));
    socket.on('close', () => fail(conn));
    return conn;
  };
  const send = (index: number, due: number): void => {
    const conn = idle.pop() ?? newConnection();
    conn.due = due;
    sendLags.push(performance.now() - due);
    conn.socket.write(requests[index]!);
  };

  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    const elapsed = performance.now() - start;
    const due = Math.min(total, Math.floor((elapsed * plan.rate) / 1000) + 1);
    for (; sent < due; sent++) send(sent, start + (sent * 1000) / plan.rate);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const timer = setTimeout(allSettled, GRACE_MS);
  await finished;
  clearTimeout(timer);
  const elapsedSec = (performance.now() - start) / 1000;
  for (const conn of [...open]) {
    conn.socket.removeAllListeners('close');
    conn.socket.destroy();
  }
  errors += total - settled;
  latencies.sort((a, b) => a - b);
  sendLags.sort((a, b) => a - b);
  return { latencies, sendLags, non2xx, errors, elapsedSec };
}

/** The value at quantile `q` of ascending `values` (NaN when empty). */
export function quantile(values: readonly number[], q: number): number {
  return values[Math.min(values.length - 1, Math.floor(q * values.length))] ?? NaN;
}

/** The median of unsorted `values` (the upper one of an even count), as every bench table reports it. */
export function median(values: readonly number[]): number {
  return quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}
