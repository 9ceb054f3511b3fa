import { hash as oneShotHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

/** Hash and salt sizes hashClientSecret writes; a shorter stored value is refused, never prefix-matched. */
const HASH_BYTES = 32;
const MIN_SALT_BYTES = 16;

/**
 * Most one verification may cost, as scrypt memory times parallel lanes (128·N·r·p bytes): 256 MiB, 8 times
 * DEFAULT_SCRYPT's 32 MiB, so every wrong secret presented costs at most that.
 */
const MAX_SCRYPT_COST = 256 * 1024 * 1024;

const HASH_FORMAT = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

/** Parameters for new hashes: client secrets are machine-generated and long, so this is ample. */
export const DEFAULT_SCRYPT = { ln: 15, r: 8, p: 1 } as const;

/** `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` (base64url), as stored in `client_secret_hash`. */
export async function hashClientSecret(
  secret: string,
  params: { ln: number; r: number; p: number } = DEFAULT_SCRYPT,
): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(secret, salt, params, HASH_BYTES);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

/**
 * Checks a presented secret against a stored plaintext or scrypt hash in constant time. A verified
 * secret's SHA-256 is remembered per client, so a client authenticating repeatedly pays for scrypt once,
 * not on every request; a different secret still goes through scrypt.
 */
export class ClientSecretVerifier {
  private readonly verified = new Map<string, Buffer>();
  private readonly inFlight = new Map<string, Promise<boolean>>();

  /** @param deriveKey the scrypt derivation (replaceable so a unit test can count the runs). */
  constructor(private readonly deriveKey: typeof derive = derive) {}

  async verify(clientId: string, presented: string, stored: { plaintext?: string; hash?: string }): Promise<boolean> {
    const digest = sha256(presented);
    if (stored.plaintext !== undefined) return timingSafeEqual(digest, sha256(stored.plaintext));
    if (stored.hash === undefined) return false;

    const remembered = this.verified.get(`${clientId}\0${stored.hash}`);
    if (remembered && timingSafeEqual(remembered, digest)) return true;

    const parsed = parseSecretHash(stored.hash);
    if (!parsed) return false;
    // Concurrent requests presenting the same secret for the same client share one scrypt run: a client
    // opening many connections at once (e.g. after a restart) would otherwise pay it, and hold its
    // memory, once per request. Any other secret still runs its own.
    const flight = `${clientId}\0${stored.hash}\0${digest.toString('base64')}`;
    let pending = this.inFlight.get(flight);
    if (!pending) {
      pending = this.deriveKey(presented, parsed.salt, parsed.params, HASH_BYTES)
        .then((actual) => {
          const ok = timingSafeEqual(actual, parsed.hash);
          if (ok) this.verified.set(`${clientId}\0${stored.hash}`, digest);
          return ok;
        })
        .finally(() => this.inFlight.delete(flight));
      this.inFlight.set(flight, pending);
    }
    return pending;
  }
}

/**
 * A stored hash no secret matches (random salt and hash, DEFAULT_SCRYPT parameters): checking a secret
 * against it costs what checking a wrong secret against a client's hash costs, and fails.
 */
export function unmatchableSecretHash(): string {
  const { ln, r, p } = DEFAULT_SCRYPT;
  return `$scrypt$ln=${ln},r=${r},p=${p}$${randomBytes(16).toString('base64url')}$${randomBytes(HASH_BYTES).toString('base64url')}`;
}

/**
 * Parses a stored `$scrypt$` hash, or returns undefined when it is malformed, has parameters outside the
 * bounds below, or a hash or salt shorter than hashClientSecret writes. Used by the config validator
 * (so a bad line stops startup) and again at verification.
 */
export function parseSecretHash(
  stored: string,
): { params: { ln: number; r: number; p: number }; salt: Buffer; hash: Buffer } | undefined {
  const match = HASH_FORMAT.exec(stored);
  if (!match) return undefined;
  const [, ln, r, p, salt, hash] = match;
  const params = { ln: Number(ln), r: Number(r), p: Number(p) };
  // Bounds keep a bad config line from turning every authentication into a memory or CPU bomb.
  if (params.ln < 10 || params.ln > 20 || params.r < 1 || params.r > 32 || params.p < 1 || params.p > 16)
    return undefined;
  // RFC 7914 §2: N must be less than 2^(128·r/8) (ln=16 needs r ≥ 2); scrypt refuses the rest at every authentication.
  if (params.ln >= 16 * params.r) return undefined;
  // Within those bounds one run could still take 4 GiB (128·N·r), 16 times over (p): per wrong secret presented.
  if (128 * 2 ** params.ln * params.r * params.p > MAX_SCRYPT_COST) return undefined;
  const saltBytes = Buffer.from(salt!, 'base64url');
  const hashBytes = Buffer.from(hash!, 'base64url');
  // A truncated hash would otherwise verify as a prefix of the derived key.
  if (hashBytes.length !== HASH_BYTES || saltBytes.length < MIN_SALT_BYTES) return undefined;
  return { params, salt: saltBytes, hash: hashBytes };
}

/** scrypt with the parameters of a stored hash. */
export function derive(
  secret: string,
  salt: Buffer,
  params: { ln: number; r: number; p: number },
  length: number,
): Promise<Buffer> {
  const N = 2 ** params.ln;
  return scryptAsync(secret, salt, length, { N, r: params.r, p: params.p, maxmem: 256 * N * params.r + 1024 * 1024 });
}

function sha256(value: string): Buffer {
  // One-shot (UTF-8 for strings): no Hash object per call, about half the cost of createHash().
  return oneShotHash('sha256', value, 'buffer');
}
