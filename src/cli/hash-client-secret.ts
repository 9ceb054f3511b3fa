/**
 * Prints the client_secret_hash for a secret: `npm run hash-secret` (reads the secret from stdin, so it
 * stays out of shell history), or `npm run hash-secret -- --generate` to create a new random secret too.
 * Exit code: 0 printed, 1 the secret is too short, 2 usage error.
 */
import { randomBytes } from 'node:crypto';
import { parseCliArgs } from './cli-args.js';
import { hashClientSecret } from '../clients/client-secret.js';

const USAGE = 'usage: echo -n "$SECRET" | npm run -s hash-secret\n       npm run -s hash-secret -- --generate\n';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** `--generate` or nothing; anything else is a usage error, never ignored while stdin is hashed. */
function parse(): { generate: boolean } {
  let parsed;
  try {
    parsed = parseCliArgs({ allowPositionals: true, options: { generate: { type: 'boolean', default: false } } });
  } catch (error) {
    // A misspelt --generate would otherwise hash whatever stdin holds and print it as if asked for.
    process.stderr.write(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (parsed.positionals.length > 0) {
    // A secret given as an argument is not what is hashed, and it is in `ps` and the shell history: never echo it.
    process.stderr.write(
      `the secret is read from stdin, not the command line (where ps and shell history show it)\n${USAGE}`,
    );
    process.exit(2);
  }
  return { generate: parsed.values.generate };
}

const { generate } = parse();
const secret = generate ? randomBytes(32).toString('base64url') : await readStdin();
if (secret.length < 16) {
  process.stderr.write('a client secret must be at least 16 characters\n');
  process.exit(1);
}
if (generate) process.stdout.write(`client_secret (give to the client): ${secret}\n`);
process.stdout.write(`client_secret_hash: ${await hashClientSecret(secret)}\n`);
