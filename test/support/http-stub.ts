import { createServer, type RequestListener } from 'node:http';
import { freePort } from './free-port.js';

/** A hand-written HTTP upstream on a free loopback port. */
export interface HttpStub {
  /** http://127.0.0.1:<port>, no trailing slash. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startHttpStub(handler: RequestListener): Promise<HttpStub> {
  const server = createServer(handler);
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      // Keep-alive sockets of the app's fetches would otherwise hold close() open.
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
