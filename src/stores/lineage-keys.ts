import { hash } from 'node:crypto';

/**
 * Keys of the lineage graph besides actbridge's own `jti`s. Tokens from trust anchors are roots, named
 * by their issuer and `jti` (a hash of the token itself when it has none); every issued token is also
 * indexed under its subject, so that "everything this subject holds" can be revoked at once. Hashed so
 * that a key never carries an upstream identifier or token into the store or a log.
 */
export function rootKey(issuer: string, jti: string): string {
  return `root:${sha256(`${issuer}|${jti}`)}`;
}

/** A root without `jti`: the hash of the token stands for it (the same token always maps to one key). */
export function rootKeyOfToken(issuer: string, token: string): string {
  return rootKey(issuer, `token:${sha256(token)}`);
}

/** Recent subject keys: an exchange names its subject twice (presented and issued), often the same. */
const subjectKeys = new Map<string, string>();
const SUBJECT_KEYS_KEPT = 10_000;

export function subjectKey(issuer: string, sub: string): string {
  const name = `${issuer}|${sub}`;
  let key = subjectKeys.get(name);
  if (key === undefined) {
    key = `sub:${sha256(name)}`;
    if (subjectKeys.size >= SUBJECT_KEYS_KEPT) subjectKeys.clear();
    subjectKeys.set(name, key);
  }
  return key;
}

/** Whether `key` names a token actbridge issued (listed in the revocation feed), not a root or a subject. */
export function isIssuedJti(key: string): boolean {
  return !key.startsWith('root:') && !key.startsWith('sub:');
}

function sha256(text: string): string {
  // One-shot: no Hash object per call (it runs once or twice per exchange).
  return hash('sha256', text, 'base64url');
}
