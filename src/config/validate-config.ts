import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { ConfigError } from './config-error.js';
import { NO_VALUE } from './config-validators.js';

/**
 * Turns plain data (parsed YAML, env vars) into a validated config instance, or throws a ConfigError
 * naming `source` and the path of every bad field (`clients[2].audiences[0]: ...`). Unknown fields are
 * errors too: a typo in a security setting must not be silently ignored.
 */
export function validateConfig<T extends object>(
  cls: ClassConstructor<T>,
  plain: unknown,
  source: string,
  nameOf: (path: string) => string = (path) => path,
): T {
  if (typeof plain !== 'object' || plain === null || Array.isArray(plain)) {
    throw new ConfigError(`${source}: expected a mapping (key: value) at the top level`);
  }
  // class-transformer drops these keys without a word, so the whitelist below never sees them.
  const inherited = inheritedNames(plain, '');
  const instance = plainToInstance(cls, plain, { enableImplicitConversion: false });
  const errors = validateSync(instance, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
  });
  if (errors.length > 0 || inherited.length > 0) {
    throw configFailure(source, [
      ...inherited.map(({ path, message }): [string, string] => [nameOf(path), message]),
      ...flatten(errors).map(({ path, message }): [string, string] => [nameOf(path), message]),
    ]);
  }
  return instance;
}

/**
 * Keys naming a member of Object.prototype (`__proto__`, `constructor`, `toString`, …) anywhere in
 * `value`: class-transformer skips them, so they would pass as silently as no other unknown field does.
 */
function inheritedNames(value: unknown, parent: string): Array<{ path: string; message: string }> {
  if (typeof value !== 'object' || value === null) return [];
  if (Array.isArray(value)) return value.flatMap((item, i) => inheritedNames(item, `${parent}[${i}]`));
  return Object.keys(value).flatMap((key) => {
    const path = parent ? `${parent}.${key}` : key;
    if (key in Object.prototype) return [{ path, message: `property ${key} should not exist` }];
    return inheritedNames((value as Record<string, unknown>)[key], path);
  });
}

/**
 * The refusal for `problems` in `source`: each on one line that names the source and the field
 * (`clients.yaml: clients[0].scope: ...`), so a line read alone (grep, a log) still says where to look;
 * several under a header line, indented.
 */
export function configFailure(source: string, problems: Array<[path: string, message: string]>): ConfigError {
  const lines = problems.map(([path, message]) => `${source}: ${path}: ${message}`);
  return new ConfigError(lines.length === 1 ? lines[0] : `${source}: invalid configuration:\n  ${lines.join('\n  ')}`);
}

/** Constraints about a value's kind: when one fails, the others' messages only restate it. */
const KIND_CONSTRAINTS = [
  NO_VALUE,
  'isDefined',
  'isString',
  'isInt',
  'isNumber',
  'isBoolean',
  'isArray',
  'isObject',
  'isIn',
  'nestedValidation',
];

/** One message per field: "required" when it is missing, else the first cause, not its consequences. */
function flatten(errors: ValidationError[], parent = ''): Array<{ path: string; message: string }> {
  const out: Array<{ path: string; message: string }> = [];
  for (const error of errors) {
    const path = /^\d+$/.test(error.property)
      ? `${parent}[${error.property}]`
      : parent
        ? `${parent}.${error.property}`
        : error.property;
    const constraints = error.constraints ?? {};
    const names = Object.keys(constraints);
    if (names.length > 0) {
      // class-validator lists constraints bottom decorator first; the kind check sits on top.
      const name = KIND_CONSTRAINTS.find((n) => n in constraints) ?? names[names.length - 1]!;
      const text = constraints[name]!;
      // class-validator prefixes messages with the property name; the path already says it.
      let message = text.startsWith(`${error.property} `) ? text.slice(error.property.length + 1) : text;
      // A missing field is "required", unless its decorator says more than a default "must be ...".
      if (error.value === undefined && name !== 'whitelistValidation' && /^(must |each value in )/.test(message)) {
        message = 'required';
      }
      out.push({ path, message });
      continue;
    }
    out.push(...flatten(error.children ?? [], path));
  }
  return out;
}
