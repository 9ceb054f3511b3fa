import { compileExpression, type CompiledExpression } from '../policy/policy-language.js';
import { compileRules } from '../policy/rule-list.js';
import type { SubjectView } from '../policy/subject-view.js';
import type { ConnectionRuleConfig } from './connection.config.js';

export interface CompiledConnectionRule {
  readonly name: string;
  readonly condition: CompiledExpression<boolean>;
  readonly scopes: readonly string[];
}

export interface ConnectionDecision {
  /** The first rule whose condition is true, if any. */
  readonly matched: CompiledConnectionRule | undefined;
  /** `<rule>: <result or error>` per rule evaluated, for the operator (audit reason). */
  readonly trace: readonly string[];
}

/**
 * A connection's `rules:`, compiled in the policy language of trust anchors (the same CEL environment
 * and subject view). First match, like an anchor's rules: read top to bottom, one rule decides.
 */
export class ConnectionPolicy {
  constructor(readonly rules: readonly CompiledConnectionRule[]) {}

  decide(view: SubjectView): ConnectionDecision {
    const trace: string[] = [];
    for (const rule of this.rules) {
      const outcome = rule.condition.evaluate(view);
      // A rule that cannot be evaluated (it reads a claim the token lacks) does not match.
      trace.push(`${rule.name}: ${outcome.ok ? (outcome.value ? 'matched' : 'not matched') : outcome.error}`);
      if (outcome.ok && outcome.value) return { matched: rule, trace };
    }
    return { matched: undefined, trace };
  }
}

/** Compiles the rules, or returns one problem per bad field (`rules[i].condition`, ...). */
export function compileConnectionPolicy(
  rules: readonly ConnectionRuleConfig[],
  connectionScopes: readonly string[],
): { policy: ConnectionPolicy; problems: Array<[string, string]> } {
  const problems: Array<[string, string]> = [];
  const compiled = compileRules(rules, problems, (rule, { at, label, compile }): CompiledConnectionRule | undefined => {
    const foreign = rule.scopes.filter((s) => !connectionScopes.includes(s));
    if (foreign.length > 0) {
      problems.push([`${at}.scopes`, `${label} ${foreign.join(', ')} not among the connection's scopes`]);
    }
    const condition = compile('condition', () => compileExpression(rule.condition, 'condition'));
    return condition && { name: rule.name, condition, scopes: rule.scopes };
  });
  return { policy: new ConnectionPolicy(compiled), problems };
}
