import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { resolveBeside, unboundedFile } from '../config/config-files.js';

/**
 * A secret read from configuration. It prints as `[redacted]` whether logged, inspected or serialised,
 * so a config object dumped by mistake cannot leak it; `reveal()` is the one way to read it.
 */
export class SecretValue {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return 'SecretValue [redacted]';
  }
}

/** Where a client secret is configured: an environment variable's name, or a file (relative to `file`). */
export interface SecretSource {
  readonly client_secret_env?: string;
  readonly client_secret_file?: string;
}

/**
 * The secret `source` names (exactly one of its fields is set): the variable's value from `env`, or the
 * file's one line. What is missing, unreadable or empty is added to `problems` as `<at>client_secret_env`
 * or `<at>client_secret_file`.
 */
export function readSecretSource(
  source: SecretSource,
  file: string,
  env: Readonly<Record<string, string | undefined>>,
  problems: Array<[string, string]>,
  at = '',
): SecretValue | undefined {
  if (source.client_secret_env !== undefined) {
    const name = source.client_secret_env;
    const value = env[name];
    // A name not in capitals may be the secret itself, written where its variable's name goes: not repeated.
    const what = /^[A-Z][A-Z0-9_]*$/.test(name) ? `environment variable ${name}` : 'the environment variable it names';
    if (!value) problems.push([`${at}client_secret_env`, `${what} is not set`]);
    return value ? new SecretValue(value) : undefined;
  }
  const path = resolveBeside(file, source.client_secret_file!);
  let value: string;
  try {
    const unbounded = unboundedFile(path);
    if (unbounded) {
      problems.push([`${at}client_secret_file`, `${path} ${unbounded}`]);
      return undefined;
    }
    // One line: a trailing newline (echo, editors) is not part of the secret.
    value = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    problems.push([`${at}client_secret_file`, `${path} cannot be read (${code})`]);
    return undefined;
  }
  if (value === '') problems.push([`${at}client_secret_file`, `${path} is empty`]);
  return value ? new SecretValue(value) : undefined;
}
