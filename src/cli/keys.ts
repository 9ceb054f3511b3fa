/**
 * Signing keys for SIGNING_KEYS (see docs/keys.md):
 *   npm run -s keys -- generate [--alg ES256|ES384|RS256|PS256|EdDSA] [--kid <kid>] [--out <file> | --dir <dir>]
 *   npm run -s keys -- activate <kid> [--dir <dir>]
 *   npm run -s keys -- retire <kid> [--dir <dir>]
 * `generate` writes a new private JWK (file mode 0600; into a key directory as `<kid>.json`, published but
 * not signing; to stdout without --out/--dir) and prints the public JWK on stderr. `activate` renames the
 * key's file to `<name>.active.json` and the previous active one back; `retire` keeps only the public
 * part of a key that no longer signs. --dir defaults to SIGNING_KEYS.
 */
import { createPublicKey } from 'node:crypto';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { parseCliArgs } from './cli-args.js';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from '../config/server-config.js';
import { ACTIVE_MARK, readKeys, type SigningKey } from '../keys/signing-keys.loader.js';
import { WriteRefused, writeNewFile } from './write-new-file.js';

const USAGE = `usage: npm run -s keys -- generate [--alg ${SIGNING_ALGORITHMS.join('|')}] [--kid <kid>] [--out <file> | --dir <dir>]
       npm run -s keys -- activate <kid> [--dir <dir>]
       npm run -s keys -- retire <kid> [--dir <dir>]
  --dir: a SIGNING_KEYS directory (default: $SIGNING_KEYS)
`;

class UsageError extends Error {}
/** The directory does not allow the change asked for (exit 1, no usage text). */
class Refusal extends Error {}

async function generate(
  alg: SigningAlgorithm,
  kid: string | undefined,
  target: { out?: string; dir?: string },
): Promise<void> {
  const { privateKey, publicKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'RS256' || alg === 'PS256' ? { modulusLength: 3072 } : {}),
  });
  // RFC 7517 §4.5: SIGNING_KEYS refuses an empty kid; a key written with one could never be loaded.
  if (kid === '') throw new UsageError('--kid: must not be empty (leave it out for the key thumbprint)');
  const publicJwk = await exportJWK(publicKey);
  const id = kid ?? (await calculateJwkThumbprint(publicJwk, 'sha256'));
  const privateJwk = { ...(await exportJWK(privateKey)), kid: id, alg, use: 'sig' };
  const text = `${JSON.stringify(privateJwk, null, 2)}\n`;
  // The kid names the file in a key directory: no path separators, no leading dot.
  if (target.dir && !/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(id))
    throw new UsageError(`--kid ${id}: use letters, digits, . _ -`);
  // A kid ending in .active would name a file marked active: the new key would sign without its publish lead.
  if (target.dir && ACTIVE_MARK.test(`${id}.json`))
    throw new UsageError(`--kid ${id}: must not end in .active (that marks the active key file); use keys activate`);
  const out = target.dir ? join(target.dir, `${id}.json`) : target.out;
  if (out) writeNew(out, text);
  else process.stdout.write(text);
  if (out) process.stderr.write(`wrote ${out}\n`);
  process.stderr.write(`public key (kid ${id}):\n${JSON.stringify({ ...publicJwk, kid: id, alg, use: 'sig' })}\n`);
}

function writeNew(out: string, text: string): void {
  try {
    writeNewFile(out, text);
  } catch (error) {
    throw error instanceof WriteRefused ? new Refusal(error.message) : error;
  }
}

/**
 * SIGNING_ALG, as the server reads the directory with it: an RSA key file without `alg` signs with it, so
 * `retire` must write the `alg` the server published (another one is refused on reload as a new key).
 */
function signingAlg(): SigningAlgorithm {
  const alg = process.env.SIGNING_ALG ?? 'ES256';
  if (!(SIGNING_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new Refusal(`environment: SIGNING_ALG: must be one of ${SIGNING_ALGORITHMS.join(', ')}`);
  }
  return alg as SigningAlgorithm;
}

/** The key `kid` of the directory, alone in its file. */
async function keyOf(dir: string, kid: string): Promise<{ key: SigningKey; keys: SigningKey[]; files: string[] }> {
  const { keys, files } = await readKeys(dir, signingAlg());
  const key = keys.find((k) => k.kid === kid);
  if (!key) throw new Refusal(`${dir}: no key with kid "${kid}" (have: ${keys.map((k) => k.kid).join(', ')})`);
  if (keys.filter((k) => k.file === key.file).length > 1)
    throw new Refusal(`${key.file}: holds several keys; keep one key per file to rotate by file name`);
  return { key, keys, files };
}

async function activate(dir: string, kid: string): Promise<void> {
  const { key, files } = await keyOf(dir, kid);
  const file = key.file!;
  if (ACTIVE_MARK.test(file)) throw new Refusal(`${file}: kid "${kid}" is already the active key`);
  if (!key.privateKey) throw new Refusal(`${file}: kid "${kid}" has no private key and cannot sign`);
  const marked = join(dirname(file), `${basename(file, extname(file))}.active${extname(file)}`);
  const previous = files.filter((f) => ACTIVE_MARK.test(f));
  const unmarked = previous.map((f) => f.replace(/\.active(\.[^.]+)$/i, '$1'));
  for (const target of [marked, ...unmarked]) {
    if (existsSync(target)) throw new Refusal(`${target}: already exists; rename it first`);
  }
  // Marked first: a reload between the two renames sees two active keys and is refused, never a wrong key.
  renameSync(file, marked);
  previous.forEach((f, i) => renameSync(f, unmarked[i]!));
  process.stderr.write(
    `${basename(marked)}: kid "${kid}" is marked active${previous.length ? `; ${previous.map((f) => basename(f)).join(', ')} no longer` : ''}.\n` +
      `Each instance signs with it at its next key re-read (SIGHUP, or SIGNING_KEYS_RELOAD_INTERVAL) once it has published it for SIGNING_KEYS_PUBLISH_LEAD.\n`,
  );
}

async function retire(dir: string, kid: string): Promise<void> {
  const { key } = await keyOf(dir, kid);
  const file = key.file!;
  if (ACTIVE_MARK.test(file)) throw new Refusal(`${file}: kid "${kid}" is the active key; activate another first`);
  if (!key.privateKey) throw new Refusal(`${file}: kid "${kid}" already holds its public part only`);
  const text =
    extname(file).toLowerCase() === '.pem'
      ? (createPublicKey(key.privateKey).export({ format: 'pem', type: 'spki' }) as string)
      : `${JSON.stringify(key.publicJwk, null, 2)}\n`;
  // Written beside and renamed over: a reload never reads half a file.
  const temporary = join(dirname(file), `.${basename(file)}.tmp`);
  writeFileSync(temporary, text, { mode: 0o644, flag: 'wx' });
  renameSync(temporary, file);
  process.stderr.write(
    `${basename(file)}: kid "${kid}" keeps its public key only; it stays published. An instance that has not switched to the new active key yet signs with it from memory until it does. Remove the file once every token it signed has expired (MAX_TOKEN_TTL after it stopped signing).\n`,
  );
}

function parse() {
  try {
    return parseCliArgs({
      allowPositionals: true,
      options: {
        alg: { type: 'string', default: 'ES256' },
        kid: { type: 'string' },
        out: { type: 'string' },
        dir: { type: 'string' },
      },
    });
  } catch (error) {
    // An unknown or incomplete option is a usage error (exit 2 with the usage), like any other.
    throw new UsageError((error as Error).message);
  }
}

async function main(): Promise<void> {
  const { positionals, values } = parse();
  const [command, kid, ...rest] = positionals;
  // `--out=` (an unset $VARIABLE) must not fall back to printing the private key to the terminal or a CI log.
  for (const option of ['out', 'dir'] as const)
    if (values[option] === '') throw new UsageError(`--${option}: must not be empty`);
  const dir = values.dir ?? process.env.SIGNING_KEYS;
  if (command === 'generate' && kid === undefined) {
    if (!(SIGNING_ALGORITHMS as readonly string[]).includes(values.alg))
      throw new UsageError(`unsupported --alg ${values.alg}`);
    if (values.out && values.dir) throw new UsageError('give --out or --dir, not both');
    return generate(values.alg as SigningAlgorithm, values.kid, values);
  }
  if ((command === 'activate' || command === 'retire') && kid !== undefined && rest.length === 0) {
    if (!dir) throw new UsageError('--dir (or SIGNING_KEYS) names the key directory');
    return command === 'activate' ? activate(dir, kid) : retire(dir, kid);
  }
  throw new UsageError('expected: generate, activate <kid> or retire <kid>');
}

try {
  await main();
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${message}\n${error instanceof UsageError ? USAGE : ''}`);
  process.exit(error instanceof UsageError ? 2 : 1);
}
