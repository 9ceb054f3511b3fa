import { inspect } from 'node:util';

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
