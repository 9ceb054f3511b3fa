import { Environment, type ASTNode } from '@marcbachmann/cel-js';
import { glob, GlobSyntaxError, parseGlob } from '../common/wildcard.js';
import { VIEW_VARIABLES, type SubjectView } from './subject-view.js';

/**
 * The policy language: CEL (cel.dev) through @marcbachmann/cel-js, over the subject view's variables
 * plus `glob(string, string)`. Every expression is parsed and type-checked once, when the anchor file
 * is loaded; evaluation then only reads the view.
 */

export type ExpressionKind = 'condition' | 'subject';

/** What an expression must produce: checked statically where the type is known, and again at run time. */
const RESULT_TYPE: Record<ExpressionKind, string> = { condition: 'bool', subject: 'string' };

/** A compile-time problem, with its 1-based position in the expression text. */
export class PolicyCompileError extends Error {
  constructor(
    readonly problem: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`${problem} (at line ${line}, column ${column})`);
  }
}

export type Evaluated<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** One view variable (or a member of one) an expression reads, e.g. `claims.repository`. */
export interface VariableRead {
  readonly path: string;
  /** The value in the view, or undefined when absent. */
  readonly value: unknown;
}

export interface CompiledExpression<T> {
  readonly source: string;
  evaluate(view: SubjectView): Evaluated<T>;
  /** The variables this expression reads, with their values in `view` (for explain). */
  reads(view: SubjectView): VariableRead[];
}

const VARIABLE_NAMES = new Set<string>(VIEW_VARIABLES.map(([name]) => name));

let environment: Environment | undefined;

function policyEnvironment(): Environment {
  if (environment) return environment;
  // Limits well above any sensible rule, far below anything that could slow startup.
  const env = new Environment({ enableOptionalTypes: true, limits: { maxAstNodes: 2000, maxDepth: 50 } });
  for (const [name, type] of VIEW_VARIABLES) env.registerVariable(name, type);
  env.registerFunction('glob(string, string): bool', (value: string, pattern: string) => glob(value, pattern), {
    description: 'Shell-style match: * and ? within a / or : segment, ** across segments, \\ escapes',
  });
  environment = env;
  return env;
}

/** Parses and type-checks `source`; throws PolicyCompileError naming the position. */
export function compileExpression(source: string, kind: 'condition'): CompiledExpression<boolean>;
export function compileExpression(source: string, kind: 'subject'): CompiledExpression<string>;
export function compileExpression(source: string, kind: ExpressionKind): CompiledExpression<boolean | string> {
  const env = policyEnvironment();
  let parsed: ReturnType<Environment['parse']>;
  try {
    parsed = env.parse(source);
  } catch (error) {
    throw compileError(source, 'syntax error', error);
  }
  const checked = parsed.check();
  if (!checked.valid) throw compileError(source, 'type error', checked.error);
  const expected = RESULT_TYPE[kind];
  if (checked.type !== expected && checked.type !== 'dyn') {
    throw new PolicyCompileError(`type error: a ${kind} must be a ${expected}, this is a ${checked.type}`, 1, 1);
  }
  checkCalls(parsed.ast, source);
  const paths = readPaths(parsed.ast);

  return {
    source,
    evaluate(view) {
      let value: unknown;
      try {
        value = parsed(view as unknown as Record<string, unknown>);
      } catch (error) {
        return { ok: false, error: firstLine(error) };
      }
      if (kind === 'condition' && typeof value !== 'boolean') {
        return { ok: false, error: `condition evaluated to ${describeType(value)}, not a bool` };
      }
      if (kind === 'subject' && typeof value !== 'string') {
        return { ok: false, error: `subject evaluated to ${describeType(value)}, not a string` };
      }
      return { ok: true, value: value as boolean | string };
    },
    reads(view) {
      return paths.map((path) => ({ path: formatPath(path), value: lookup(view, path) }));
    },
  };
}

/** CEL's comprehension macros: each runs its body once per element of its range. */
const MACROS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);

/** A comprehension over something other than a list written in the rule (a claim's: as long as a token makes it): its name. */
function inputComprehension(n: ASTNode): string | undefined {
  if (n.op !== 'rcall') return undefined;
  const [name, range] = n.args as unknown as [string, ASTNode, ASTNode[]];
  return MACROS.has(name) && range.op !== 'list' ? name : undefined;
}

/**
 * Static checks beyond types: `matches()` is refused (its engine is JavaScript's backtracking RegExp, and
 * claim values come from callers: a careless pattern would let a token stall the server; `glob()` is
 * linear), a literal glob pattern must be well-formed, and a comprehension over claim data may not hold
 * another (its cost is the product of two lengths a token chooses; cel-js evaluates without a budget).
 */
function checkCalls(node: ASTNode, source: string): void {
  walk(node, (n) => {
    const outer = inputComprehension(n);
    if (outer !== undefined) {
      const [, , body] = n.args as unknown as [string, ASTNode, ASTNode[]];
      for (const part of body) {
        walk(part, (inner) => {
          const nested = inputComprehension(inner);
          if (nested === undefined) return;
          throw positioned(
            source,
            inner.start,
            `${nested}() inside ${outer}() over token data is not available in policies ` +
              '(its cost grows with the product of two claim lengths); iterate one claim and test the other with "in"',
          );
        });
      }
    }
    if (n.op !== 'call' && n.op !== 'rcall') return;
    const name = n.args[0];
    if (name === 'matches') {
      throw positioned(source, n.start, 'matches() is not available in policies; use glob(), startsWith(), endsWith()');
    }
    if (name === 'glob' && n.op === 'call') {
      const pattern = (n.args as [string, ASTNode[]])[1][1];
      if (pattern?.op === 'value' && typeof pattern.args === 'string') {
        try {
          parseGlob(pattern.args);
        } catch (error) {
          if (error instanceof GlobSyntaxError) throw positioned(source, pattern.start, error.message);
          throw error;
        }
      }
    }
  });
}

type Path = readonly string[];

/** The member paths rooted at a view variable: `claims.repository`, `claims["job_workflow_ref"]`, `actors`. */
function readPaths(root: ASTNode): Path[] {
  const found = new Map<string, Path>();
  const pathOf = (n: ASTNode): Path | undefined => {
    if (n.op === 'id') return VARIABLE_NAMES.has(n.args as string) ? [n.args as string] : undefined;
    if (n.op === '.' || n.op === '.?') {
      const [object, field] = n.args as [ASTNode, string];
      const base = pathOf(object);
      return base && [...base, field];
    }
    if (n.op === '[]' || n.op === '[?]') {
      const [object, index] = n.args as [ASTNode, ASTNode];
      const base = pathOf(object);
      return base && index.op === 'value' && typeof index.args === 'string' ? [...base, index.args] : undefined;
    }
    return undefined;
  };
  const visit = (n: ASTNode): void => {
    const path = pathOf(n);
    if (path) {
      found.set(formatPath(path), path);
      return;
    }
    for (const child of children(n)) visit(child);
  };
  visit(root);
  return [...found.values()];
}

function walk(node: ASTNode, visit: (n: ASTNode) => void): void {
  visit(node);
  for (const child of children(node)) walk(child, visit);
}

function children(node: ASTNode): ASTNode[] {
  const out: ASTNode[] = [];
  const collect = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(collect);
    else if (typeof value === 'object' && value !== null && 'op' in value) out.push(value as ASTNode);
  };
  if (node.op !== 'value' && node.op !== 'id') collect(node.args);
  return out;
}

function formatPath(path: Path): string {
  return path
    .map((part, i) =>
      i === 0 ? part : /^[A-Za-z_][A-Za-z0-9_]*$/.test(part) ? `.${part}` : `[${JSON.stringify(part)}]`,
    )
    .join('');
}

function lookup(view: SubjectView, path: Path): unknown {
  let value: unknown = view;
  for (const part of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function compileError(source: string, kind: string, error: unknown): PolicyCompileError {
  const start = (error as { range?: { start: number } } | undefined)?.range?.start ?? 0;
  return positioned(source, start, `${kind}: ${firstLine(error)}`);
}

function positioned(source: string, offset: number, problem: string): PolicyCompileError {
  const before = source.slice(0, Math.max(0, offset));
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  return new PolicyCompileError(problem, line, column);
}

/** cel-js messages carry a source excerpt after the first line; the summary is enough here. */
function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.trim();
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'bigint') return 'an int';
  if (typeof value === 'number') return 'a double';
  if (typeof value === 'boolean') return 'a bool';
  return typeof value === 'object' ? 'a map' : `a ${typeof value}`;
}
