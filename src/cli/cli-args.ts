import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * parseArgs, and an option that takes one value given twice is an error like an unknown one: parseArgs
 * keeps the last, so `revoke --jti a --jti b` would revoke b alone while the operator meant both.
 */
export function parseCliArgs<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  const { tokens = [] } = parseArgs({ ...config, tokens: true });
  const seen = new Set<string>();
  for (const token of tokens) {
    if (token.kind !== 'option' || config.options?.[token.name]?.multiple) continue;
    if (seen.has(token.name)) throw new TypeError(`Option '--${token.name}' given more than once`);
    seen.add(token.name);
  }
  return parseArgs(config);
}
