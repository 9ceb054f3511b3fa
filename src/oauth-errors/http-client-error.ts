import type { Socket } from 'node:net';

/**
 * Answers a request Node's HTTP parser rejected (bad framing, oversized headers) before Fastify or Nest
 * see it, in the same JSON shape as every other error, then closes the connection: after a framing
 * error nothing else on the socket can be trusted.
 */
export function answerHttpClientError(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const body = JSON.stringify({
    error: 'invalid_request',
    error_description: tooLarge ? 'request headers too large' : 'malformed HTTP request',
  });
  socket.end(
    `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\n` +
      'content-type: application/json; charset=utf-8\r\n' +
      'cache-control: no-store\r\n' +
      'pragma: no-cache\r\n' +
      'connection: close\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
