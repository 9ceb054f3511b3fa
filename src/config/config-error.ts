/** A configuration problem found at startup. The message names the source (file or env var) and field. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
