/**
 * Environment variables that look like a misspelt actbridge setting (`SIGNING_KEY` for `SIGNING_KEYS`):
 * a typo in a security setting must not silently leave its default in force.
 */
export interface EnvTypo {
  readonly name: string;
  readonly suggestion: string;
}

/**
 * Variables shells, platforms and libraries define, some close to a setting's name (OpenSSL's
 * SSL_CERT_FILE to TLS_CERT_FILE) but never meant for actbridge.
 */
const COMMON = new Set([
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'NODE_EXTRA_CA_CERTS',
  'NODE_OPTIONS',
  'NODE_ENV',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'TMPDIR',
  'LOGNAME',
  'HOME',
  'HOSTNAME',
  'HOSTTYPE',
  'PATH',
  'PWD',
  'OLDPWD',
  'SHELL',
  'TERM',
  'USER',
  'LANG',
  'TZ',
]);

export function envTypos(env: Readonly<Record<string, string | undefined>>, known: readonly string[]): EnvTypo[] {
  const settings = new Set(known);
  const typos: EnvTypo[] = [];
  for (const name of Object.keys(env)) {
    if (settings.has(name) || COMMON.has(name.toUpperCase())) continue;
    const upper = name.toUpperCase();
    let best: { suggestion: string; distance: number } | undefined;
    for (const setting of known) {
      // Short names tolerate one edit, longer ones two: HOST/HOME must not match, SIGNING_KEY must.
      const allowed = setting.length <= 6 ? 1 : 2;
      const distance = upper === setting ? 0 : editDistance(upper, setting, allowed);
      if (distance <= allowed && (!best || distance < best.distance)) best = { suggestion: setting, distance };
    }
    if (best) typos.push({ name, suggestion: best.suggestion });
  }
  return typos;
}

/** Optimal string alignment distance (Levenshtein plus adjacent transposition), cut off above `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous2: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        value = Math.min(value, previous2[j - 2]! + 1);
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin > limit) return limit + 1;
    previous2 = previous;
    previous = current;
  }
  return previous[b.length]!;
}
