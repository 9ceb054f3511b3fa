import { PolicyCompileError } from './policy-language.js';

/** Where a rule stands, for its problems: `rules[i]`, and `(rule "name")` to start their messages. */
export interface RuleSite {
  readonly at: string;
  readonly label: string;
  /** `build()`, or undefined with a problem at `<at>.<field>` when it throws a PolicyCompileError. */
  compile<T>(field: string, build: () => T): T | undefined;
}

/**
 * Compiles a `rules:` list (an anchor's or a connection's) with `each`, after the check every list gets:
 * rule names are unique. Problems are added to `problems` in order; a rule `each` returns undefined for
 * is left out.
 */
export function compileRules<R extends { readonly name: string }, C>(
  rules: readonly R[],
  problems: Array<[string, string]>,
  each: (rule: R, site: RuleSite) => C | undefined,
): C[] {
  const names = new Set<string>();
  const compiled: C[] = [];
  rules.forEach((rule, i) => {
    const at = `rules[${i}]`;
    const label = `(rule "${rule.name}")`;
    if (names.has(rule.name)) problems.push([`${at}.name`, `duplicate rule name "${rule.name}"`]);
    names.add(rule.name);
    const compile = <T>(field: string, build: () => T): T | undefined => {
      try {
        return build();
      } catch (error) {
        if (!(error instanceof PolicyCompileError)) throw error;
        problems.push([`${at}.${field}`, `${label} ${error.message}`]);
        return undefined;
      }
    };
    const result = each(rule, { at, label, compile });
    if (result !== undefined) compiled.push(result);
  });
  return compiled;
}
