import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse, stringify } from 'yaml';
import { Metrics } from '../../src/observability/metrics.js';
import { describeWithPromtool, promtool } from '../support/promtool.js';

/**
 * The alerting rules and the Grafana dashboard shipped in deploy/ query only series actbridge
 * exposes, and their PromQL is valid (promtool).
 */

const ROOT = resolve(import.meta.dirname, '../..');
const RULES = join(ROOT, 'deploy/prometheus/alerts.yml');
const DASHBOARD = join(ROOT, 'deploy/grafana/actbridge-dashboard.json');

interface Panel {
  readonly title: string;
  readonly targets?: Array<{ expr: string }>;
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
const rules = parse(readFileSync(RULES, 'utf8')) as {
  groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
};
const dashboardExprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
const ruleExprs = rules.groups.flatMap((g) => g.rules.map((r) => r.expr));

/** Every series name the exposition can hold (histograms with their _bucket, _sum and _count). */
async function exposedNames(): Promise<Set<string>> {
  const metrics = new Metrics();
  metrics.collectProcessMetrics();
  const names = new Set<string>();
  for (const [, name, type] of (await metrics.registry.metrics()).matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

/** The metric names a PromQL expression reads (label matchers, functions and keywords aside). */
function metricNames(expr: string): string[] {
  const withoutStrings = expr
    .replace(/"[^"]*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '');
  const words = withoutStrings.match(/\b[a-z_][a-z0-9_]*\b(?!\s*\()/g) ?? [];
  const keywords = new Set([
    ...['by', 'without', 'and', 'or', 'unless', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool'],
    ...[
      'sum',
      'min',
      'max',
      'avg',
      'count',
      'group',
      'stddev',
      'stdvar',
      'topk',
      'bottomk',
      'quantile',
      'count_values',
    ],
  ]);
  const inGrouping = new Set(
    [...expr.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g)].flatMap((m) => m[1]!.split(/\s*,\s*/)),
  );
  return [...new Set(words.filter((w) => !keywords.has(w) && !inGrouping.has(w)))];
}

let names: Set<string>;
beforeAll(async () => {
  names = await exposedNames();
});

describe('deploy/grafana/actbridge-dashboard.json', () => {
  it('has panels for requests, refusals, latency, issued tokens, anchors, stores, keys and the process', () => {
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(12);
    expect(dashboardExprs.length).toBeGreaterThanOrEqual(dashboard.panels.length);
  });

  it('queries only metrics actbridge exposes', () => {
    const queried = [...new Set(dashboardExprs.flatMap(metricNames))];
    expect(queried.filter((name) => !names.has(name))).toEqual([]);
    expect(queried).toEqual(expect.arrayContaining(['actbridge_token_requests_total', 'process_cpu_seconds_total']));
  });
});

describe('deploy/prometheus/alerts.yml', () => {
  it('alerts only on metrics actbridge exposes (and up)', () => {
    const queried = [...new Set(ruleExprs.flatMap(metricNames))];
    expect(queried.filter((name) => !names.has(name) && name !== 'up')).toEqual([]);
  });
});

describeWithPromtool()('promtool', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'actbridge-promql-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('check rules: the alerting rules are clean', () => {
    const { status, output } = promtool(['check', 'rules', RULES]);
    expect({ status, output }).toEqual({ status: 0, output: expect.stringContaining('SUCCESS: 11 rules found') });
  });

  it('test rules: the audit, JWKS and certificate alerts fire as alerts.test.yml expects', () => {
    const { status, output } = promtool(['test', 'rules', join(ROOT, 'deploy/prometheus/alerts.test.yml')]);
    expect({ status, output }).toEqual({ status: 0, output: expect.stringContaining('SUCCESS') });
  });

  it("the dashboard's queries are valid PromQL (checked as recording rules, Grafana variables filled in)", () => {
    const recorded = dashboardExprs.map((expr, i) => ({
      record: `actbridge:dashboard_query_${i}`,
      expr: expr.replace(/\$__rate_interval/g, '5m').replace(/\$instance/g, '.*'),
    }));
    const file = join(dir, 'dashboard-queries.yml');
    writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules: recorded }] }));
    const { status, output } = promtool(['check', 'rules', file]);
    expect({ status, output }).toEqual({
      status: 0,
      output: expect.stringContaining(`SUCCESS: ${recorded.length} rules found`),
    });
  });
});
