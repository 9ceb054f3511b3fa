import { configFailure } from '../config/validate-config.js';
import { compileExpression, type CompiledExpression, type Evaluated, type VariableRead } from './policy-language.js';
import type { PolicyRuleConfig } from './policy-rule.config.js';
import { compileRules } from './rule-list.js';
import { type SubjectView } from './subject-view.js';

/** A rule ready to evaluate: its condition and subject compiled, its grants as configured. */
export interface CompiledRule {
  readonly name: string;
  readonly condition: CompiledExpression<boolean>;
  readonly subject: CompiledExpression<string> | undefined;
  readonly audiences: readonly string[];
  readonly scopes: readonly string[];
  readonly maxTtl: number | undefined;
  readonly trustChains: boolean;
}

/** How one rule's condition fared, with the inputs it read: what `npm run explain` prints. */
export interface RuleTrace {
  readonly rule: string;
  /** `error`: the condition could not be evaluated (e.g. it reads a claim the token lacks): no match. */
  readonly result: 'matched' | 'not matched' | 'error' | 'not evaluated';
  readonly error?: string;
  readonly reads: readonly VariableRead[];
}

export interface PolicyEvaluation {
  /** The first rule whose condition is true, if any. */
  readonly matched: CompiledRule | undefined;
  /** One entry per rule in order; after the match only when every rule was asked for. */
  readonly trace: readonly RuleTrace[];
}

/** Longest `sub` a subject expression may form (RFC 7519 sets none; this keeps tokens and logs sane). */
const MAX_SUBJECT_LENGTH = 1024;

/**
 * The compiled `rules:` of one trust anchor. First match: rules are read top to bottom like a firewall,
 * so one rule alone decides what a subject gets and which `sub` it is issued under.
 */
export class AnchorPolicy {
  constructor(
    readonly anchor: string,
    readonly rules: readonly CompiledRule[],
  ) {}

  /** Evaluates the rules in order; stops at the first match unless `all` (explain shows every rule). */
  evaluate(view: SubjectView, all = false): PolicyEvaluation {
    let matched: CompiledRule | undefined;
    const trace: RuleTrace[] = [];
    for (const rule of this.rules) {
      if (matched && !all) break;
      const outcome = rule.condition.evaluate(view);
      const reads = rule.condition.reads(view);
      if (!outcome.ok) {
        trace.push({ rule: rule.name, result: 'error', error: outcome.error, reads });
      } else {
        trace.push({ rule: rule.name, result: outcome.value ? 'matched' : 'not matched', reads });
        if (outcome.value && !matched) matched = rule;
      }
    }
    return { matched, trace };
  }

  /** The issued `sub` under `rule`: its subject expression, else the token's own subject. */
  static formSubject(rule: CompiledRule, view: SubjectView): Evaluated<string> {
    if (!rule.subject) return { ok: true, value: view.sub };
    const formed = rule.subject.evaluate(view);
    if (!formed.ok) return formed;
    if (formed.value.length === 0) return { ok: false, error: 'subject evaluated to an empty string' };
    if (formed.value.length > MAX_SUBJECT_LENGTH) {
      return { ok: false, error: `subject is longer than ${MAX_SUBJECT_LENGTH} characters` };
    }
    return formed;
  }
}

/**
 * Compiles an anchor file's `rules:` (already shape-checked by class-validator), or throws a ConfigError
 * naming the file, the rule and the position of the first bad expression.
 */
export function compileAnchorPolicy(
  file: string,
  anchorName: string,
  rules: readonly PolicyRuleConfig[],
  anchorTrustsChains: boolean,
): AnchorPolicy {
  const problems: Array<[string, string]> = [];
  const compiled = compileRules(rules, problems, (rule, { at, label, compile }): CompiledRule | undefined => {
    if (rule.grants.trust_chains === true && !anchorTrustsChains) {
      problems.push([`${at}.grants.trust_chains`, `${label} needs trusted_for_chains: true on the anchor`]);
    }
    const condition = compile('condition', () => compileExpression(rule.condition, 'condition'));
    const source = rule.grants.subject;
    const subject =
      source === undefined ? undefined : compile('grants.subject', () => compileExpression(source, 'subject'));
    if (!condition || (rule.grants.subject !== undefined && !subject)) return undefined;
    return {
      name: rule.name,
      condition,
      subject,
      audiences: rule.grants.audiences,
      scopes: rule.grants.scopes,
      maxTtl: rule.grants.max_ttl,
      trustChains: rule.grants.trust_chains ?? anchorTrustsChains,
    };
  });
  if (problems.length > 0) throw configFailure(file, problems);
  return new AnchorPolicy(anchorName, compiled);
}
