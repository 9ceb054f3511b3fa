/**
 * Signing keys for SIGNING_KEYS:
 *   npm run -s keys -- generate [--alg ES256|ES384|RS256|PS256|EdDSA] [--kid <kid>] [--out <file>]
 * writes a new private JWK (file mode 0600; to stdout without --out) and prints the public JWK on
 * stderr, to publish or check against /.well-known/jwks.json.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from '../config/server-config.js';

const USAGE = `usage: npm run -s keys -- generate [--alg ${SIGNING_ALGORITHMS.join('|')}] [--kid <kid>] [--out <file>]\n`;

async function generate(alg: SigningAlgorithm, kid: string | undefined, out: string | undefined): Promise<void> {
  const { privateKey, publicKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'RS256' || alg === 'PS256' ? { modulusLength: 3072 } : {}),
  });
  const publicJwk = await exportJWK(publicKey);
  const id = kid ?? (await calculateJwkThumbprint(publicJwk, 'sha256'));
  const privateJwk = { ...(await exportJWK(privateKey)), kid: id, alg, use: 'sig' };
  const text = `${JSON.stringify(privateJwk, null, 2)}\n`;
  if (out) writeFileSync(out, text, { mode: 0o600, flag: 'wx' });
  else process.stdout.write(text);
  process.stderr.write(`public key (kid ${id}):\n${JSON.stringify({ ...publicJwk, kid: id, alg, use: 'sig' })}\n`);
}

try {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { alg: { type: 'string', default: 'ES256' }, kid: { type: 'string' }, out: { type: 'string' } },
  });
  if (positionals.length !== 1 || positionals[0] !== 'generate') throw new Error('expected: generate');
  if (!(SIGNING_ALGORITHMS as readonly string[]).includes(values.alg))
    throw new Error(`unsupported --alg ${values.alg}`);
  await generate(values.alg as SigningAlgorithm, values.kid, values.out);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}
