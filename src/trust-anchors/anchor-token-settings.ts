import { foreignTypKind } from '../jose/jwt-kinds.js';
import { readSecretSource, SecretValue } from './secret-value.js';
import type { TrustAnchorConfig } from './trust-anchor.config.js';

type Problems = Array<[path: string, message: string]>;

/**
 * Cross-field checks of an anchor's token settings (`access_token_typ`, `token_types`,
 * `introspection`), and the introspection secret read from its environment variable or file.
 */
export function checkTokenSettings(
  config: TrustAnchorConfig,
  file: string,
  env: Readonly<Record<string, string | undefined>>,
): { problems: Problems; introspectionSecret?: SecretValue } {
  const problems: Problems = [];
  config.access_token_typ.forEach((typ, i) => {
    const kind = foreignTypKind(typ);
    if (kind) problems.push([`access_token_typ[${i}]`, `"${typ}" is ${kind}, never an access token`]);
  });
  if (config.jwt_bearer !== undefined && !config.token_types.includes('jwt')) {
    problems.push(['token_types', 'must include jwt when jwt_bearer is configured (RFC 7523 assertions are JWTs)']);
  }
  const introspection = config.introspection;
  if (!introspection) return { problems };

  if (!config.token_types.includes('access_token')) {
    problems.push(['token_types', 'must include access_token when introspection is configured']);
  }
  const keysDiscovered = config.jwks === undefined && config.jwks_file === undefined && config.jwks_uri === undefined;
  if (introspection.endpoint === undefined && !keysDiscovered) {
    problems.push(['introspection.endpoint', 'is required when the anchor does not use discovery']);
  }
  const sources = [introspection.client_secret_env, introspection.client_secret_file].filter((v) => v !== undefined);
  if (sources.length !== 1) {
    problems.push(['introspection', 'give exactly one of client_secret_env, client_secret_file']);
    return { problems };
  }
  const introspectionSecret = readSecretSource(introspection, file, env, problems, 'introspection.');
  return { problems, introspectionSecret };
}
