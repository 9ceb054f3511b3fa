/** A configuration problem found at startup. The message names the source (file or env var) and field. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * A setting that names a key file but holds a key itself (JSON, a PEM block): its refusal must not repeat
 * the value, which would write a private key to the logs.
 */
export function holdsKeyMaterial(value: string): boolean {
  return /^\s*[{[]|-----BEGIN /.test(value);
}
