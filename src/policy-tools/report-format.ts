import { printable } from '../common/printable.js';
import type { RuleTrace } from '../policy/anchor-policy.js';
import type { PolicyCheckReport } from './policy-check.js';
import type { VariableRead } from '../policy/policy-language.js';

const TOKEN_TYPE_PREFIX = 'urn:ietf:params:oauth:token-type:';

/** `jwt` → `urn:ietf:params:oauth:token-type:jwt`; a full URI is kept as given. */
export function tokenTypeUri(value: string): string {
  return value.includes(':') ? value : `${TOKEN_TYPE_PREFIX}${value}`;
}

function show(value: unknown): string {
  if (value === undefined) return '(absent)';
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

function reads(lines: string[], list: readonly VariableRead[], indent: string): void {
  if (list.length === 0) lines.push(`${indent}(reads no variables)`);
  for (const read of list) lines.push(`${indent}${read.path} = ${show(read.value)}`);
}

function ruleLine(trace: RuleTrace, index: number, decides: boolean): string {
  const result =
    trace.result === 'error'
      ? `error (no match): ${trace.error}`
      : trace.result === 'matched'
        ? decides
          ? 'MATCHED (first match: decides)'
          : 'matched (an earlier rule decides)'
        : trace.result;
  return `  ${index + 1}. ${trace.rule}: ${result}`;
}

/** The human-readable explanation `npm run explain` prints. */
export function formatReport(report: PolicyCheckReport, clock: string): string {
  const lines: string[] = [];
  lines.push(`client    ${report.client_id}`);
  if (report.subject) {
    lines.push(`subject   ${report.subject.sub} (issuer ${report.subject.iss}; ${report.subject.token_type})`);
  }
  if (report.anchor) {
    lines.push(
      `anchor    ${report.anchor.name} (${report.anchor.issuer})${report.anchor.has_rules ? '' : ': no rules; the token scope ∩ client policy decide'}`,
    );
  }
  lines.push(`clock     ${clock}`);
  lines.push('replay    single-use identifiers are neither checked nor consumed by explain');
  if (report.rules) {
    lines.push('', 'rules (in order; the first match decides):');
    if (report.rules.length === 0) lines.push('  (none: every subject is refused)');
    const first = report.rules.findIndex((t) => t.result === 'matched');
    report.rules.forEach((trace, i) => {
      lines.push(ruleLine(trace, i, i === first));
      reads(lines, trace.reads, '       ');
    });
  }
  if (report.subject_expression) {
    lines.push('', `issued sub (rule ${report.subject_expression.rule}'s subject expression):`);
    reads(lines, report.subject_expression.reads, '       ');
    lines.push(`       → ${report.subject_expression.result}`);
  }
  const outcome = report.outcome;
  lines.push('');
  if (outcome.decision === 'issue') {
    lines.push('outcome   WOULD ISSUE');
    lines.push(`  sub         ${outcome.sub} (sub_id iss ${outcome.sub_iss})`);
    lines.push(`  mode        ${outcome.mode}${outcome.act ? `, act ${JSON.stringify(outcome.act)}` : ''}`);
    lines.push(`  audience    ${outcome.audience.join(' ')}`);
    lines.push(`  scope       ${outcome.scope || '(none)'}`);
    lines.push(`  ttl         ${outcome.ttl} s (until ${outcome.expires_at})`);
    if (outcome.rule) lines.push(`  rule        ${outcome.rule}`);
    if (outcome.dpop_required_by_client && !outcome.dpop_jkt) {
      lines.push(`  dpop proof  required, by any key (the client's dpop_bound_access_tokens)`);
    }
    if (outcome.dpop_jkt) {
      lines.push(
        `  dpop proof  required, signed with the key of thumbprint ${outcome.dpop_jkt} (the presented token's cnf.jkt)`,
      );
    }
  } else {
    lines.push(`outcome   WOULD REFUSE at step "${outcome.step}"`);
    lines.push(`  error              ${outcome.error}`);
    lines.push(`  error_description  ${outcome.error_description}`);
    if (outcome.detail) lines.push(`  detail (operators) ${outcome.detail}`);
  }
  // The claims shown are the caller's (a refused token's sub may hold an escape sequence or a newline): each
  // line printable, so none rewrites the operator's terminal or forges a line of the report.
  return `${lines.map(printable).join('\n')}\n`;
}
