/**
 * Prints the client_secret_hash for a secret: `npm run hash-secret` (reads the secret from stdin, so it
 * stays out of shell history), or `npm run hash-secret -- --generate` to create a new random secret too.
 */
import { randomBytes } from 'node:crypto';
import { hashClientSecret } from '../clients/client-secret.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

const generate = process.argv.includes('--generate');
const secret = generate ? randomBytes(32).toString('base64url') : await readStdin();
if (secret.length < 16) {
  process.stderr.write('a client secret must be at least 16 characters\n');
  process.exit(1);
}
if (generate) process.stdout.write(`client_secret (give to the client): ${secret}\n`);
process.stdout.write(`client_secret_hash: ${await hashClientSecret(secret)}\n`);
