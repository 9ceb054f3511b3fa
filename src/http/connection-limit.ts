import type { Server } from 'node:net';
import { Logger } from '@nestjs/common';

/** Least time between two log lines about one address, milliseconds. */
const LOG_EVERY_MS = 60_000;

/**
 * Caps the open connections from one client IP address: a connection beyond the cap is closed as
 * soon as it is accepted, before any byte is read (so there is no request to answer). Held sockets
 * are what slow clients exhaust; the per-request timeouts bound how long, this bounds how many.
 */
export function limitConnectionsPerAddress(server: Server, max: number): void {
  if (max <= 0) return;
  const logger = new Logger('Connections');
  const open = new Map<string, number>();
  const loggedAt = new Map<string, number>();
  server.on('connection', (socket) => {
    const address = socket.remoteAddress ?? '';
    const count = open.get(address) ?? 0;
    if (count >= max) {
      socket.destroy();
      const now = Date.now();
      if (now - (loggedAt.get(address) ?? 0) >= LOG_EVERY_MS) {
        loggedAt.set(address, now);
        logger.warn(`${address} has ${count} open connections (MAX_CONNECTIONS_PER_ADDRESS): closing new ones`);
      }
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) return void open.set(address, left);
      open.delete(address);
      loggedAt.delete(address);
    });
  });
}
