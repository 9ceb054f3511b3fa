import { readFileSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, resolve, dirname } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError } from './config-error.js';
import { isJwkSet } from './config-validators.js';

export function readYamlFile(file: string): unknown {
  const text = readText(file);
  try {
    const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    // A warning (an unknown tag: `!!js/function`, `!secret`) is an error here: the parser would keep the
    // plain value as if the tag were not there, and print the warning over several lines.
    const [problem] = [...document.errors, ...document.warnings];
    if (problem) throw problem;
    return document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // The parser's first line says what and where ("... at line 3, column 1:"); the excerpt under it
    // would break the one-line message.
    const [what] = (error as Error).message.split('\n', 1);
    throw new ConfigError(`${file}: not valid YAML: ${what!.replace(/:$/, '')}`);
  }
}

/** Reads a JWKS file referenced from `fromFile`'s `field`; the error names both. */
export function readJwksFile(path: string, fromFile: string, field: string): { keys: Array<Record<string, unknown>> } {
  const file = resolveBeside(fromFile, path);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readText(file));
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`${fromFile}: ${field}: ${error.message}`);
    throw new ConfigError(`${fromFile}: ${field}: ${file} is not valid JSON`);
  }
  if (!isJwkSet(parsed)) throw new ConfigError(`${fromFile}: ${field}: ${file} is not a JWK Set ({ "keys": [...] })`);
  return parsed;
}

export function listYamlFiles(dir: string): string[] {
  let stat;
  try {
    stat = statSync(dir);
  } catch {
    throw new ConfigError(`TRUST_ANCHORS_DIR: ${dir} does not exist`);
  }
  if (!stat.isDirectory()) throw new ConfigError(`TRUST_ANCHORS_DIR: ${dir} is not a directory`);
  return readdirSync(dir)
    .filter((name) => /\.ya?ml$/i.test(name))
    .sort()
    .map((name) => resolve(dir, name));
}

/** Paths inside a config file are relative to that file. */
export function resolveBeside(configFile: string, path: string): string {
  return isAbsolute(path) ? path : resolve(dirname(configFile), path);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Far beyond any real configuration file; a larger one (or a device such as /dev/zero) would hold startup. */
export const MAX_CONFIG_FILE_BYTES = 16 * 1024 * 1024;

/**
 * Why `file` must not be read whole (a device, a FIFO, more than MAX_CONFIG_FILE_BYTES), or undefined:
 * such a file would hold startup, or a re-read on the serving event loop, without bound. A directory is
 * left to the read, which fails at once (EISDIR). Throws what stat throws (ENOENT, EACCES).
 */
export function unboundedFile(file: string): string | undefined {
  const stat = statSync(file);
  if (!stat.isFile() && !stat.isDirectory()) return 'is not a regular file';
  if (stat.size > MAX_CONFIG_FILE_BYTES) return `is larger than ${MAX_CONFIG_FILE_BYTES} bytes`;
  return undefined;
}

function readText(file: string): string {
  let bytes: Buffer;
  try {
    const unbounded = unboundedFile(file);
    if (unbounded) throw new ConfigError(`${file}: ${unbounded}`);
    bytes = readFileSync(file);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(`${file}: cannot be read (${code ?? 'error'})`);
  }
  try {
    // Strict: a lenient decode turns a stray Latin-1 byte into U+FFFD inside an audience or pattern.
    return UTF8.decode(bytes);
  } catch {
    throw new ConfigError(`${file}: not valid UTF-8`);
  }
}
