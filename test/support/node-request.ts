import type { ClientRequest, IncomingMessage } from 'node:http';

/**
 * Sends `body` on a request made with node:http or node:https directly (for what fetch cannot send:
 * repeated header lines, a private CA), and reads the answer as JSON.
 */
export function jsonRequest(
  open: (onResponse: (res: IncomingMessage) => void) => ClientRequest,
  body: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = open((res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
