import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { ConfigError } from '../config/config-error.js';
import { loadTrustAnchorFiles } from './anchor-loader.js';
import { type SubjectView } from '../policy/subject-view.js';
import { thrownBy } from '../../test/support/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'actbridge-policy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = { issuer: 'https://ci.example', audiences: ['https://sts.example'], jwks: undefined };

function load(rules: unknown, extra: Record<string, unknown> = {}) {
  const file = join(dir, `anchor-${Math.random().toString(36).slice(2)}.yaml`);
  const content = { ...base, jwks_uri: 'https://ci.example/jwks', ...extra, rules };
  delete (content as Record<string, unknown>).jwks;
  writeFileSync(file, stringify(content));
  return { file, anchors: () => loadTrustAnchorFiles([file], { issuer: 'https://sts.example' }) };
}

function rule(name: string, condition: string, grants: Record<string, unknown> = {}) {
  return { name, condition, grants: { audiences: ['https://api.example'], scopes: ['read'], ...grants } };
}

function view(claims: Record<string, unknown>): SubjectView {
  return {
    claims,
    attributes: {},
    name_id: '',
    name_id_format: '',
    issuer: base.issuer,
    token_type: 'urn:ietf:params:oauth:token-type:jwt',
    sub: String(claims.sub ?? 'x'),
    scopes: [],
    actors: [],
    client_id: 'ci',
  };
}

describe('anchor rules at load time', () => {
  it('compiles every rule; an anchor without rules has no policy', () => {
    const withRules = load([rule('a', 'true'), rule('b', 'claims.x == "y"', { subject: '"ci:" + sub' })]);
    const [anchor] = withRules.anchors();
    expect(anchor!.policy!.rules.map((r) => r.name)).toEqual(['a', 'b']);
    expect(anchor!.policy!.anchor).toBe(anchor!.name);
    const [plain] = load(undefined).anchors();
    expect(plain!.policy).toBeUndefined();
  });

  const failing: Array<[string, unknown, Record<string, unknown>, string]> = [
    [
      'a syntax error: file, rule and position',
      [rule('ok', 'true'), rule('main-only', 'claims.ref == "refs/heads/main" &&')],
      {},
      'rules[1].condition: (rule "main-only") syntax error: Unexpected token: EOF (at line 1, column 35)',
    ],
    [
      'a type error',
      [rule('typed', 'claims.ref == "x" && sub > 3')],
      {},
      'rules[0].condition: (rule "typed") type error: no such overload: string > int (at line 1, column 22)',
    ],
    [
      'a non-boolean condition',
      [rule('str', 'sub')],
      {},
      'rules[0].condition: (rule "str") type error: a condition must be a bool, this is a string (at line 1, column 1)',
    ],
    [
      'a bad subject expression',
      [rule('subj', 'true', { subject: 'claims.repository +' })],
      {},
      'rules[0].grants.subject: (rule "subj") syntax error: Unexpected token: EOF (at line 1, column 20)',
    ],
    [
      'a duplicate rule name',
      [rule('same', 'true'), rule('same', 'false')],
      {},
      'rules[1].name: duplicate rule name "same"',
    ],
    [
      'trust_chains without trusted_for_chains on the anchor',
      [rule('chains', 'true', { trust_chains: true })],
      {},
      'rules[0].grants.trust_chains: (rule "chains") needs trusted_for_chains: true on the anchor',
    ],
    ['missing grants', [{ name: 'x', condition: 'true' }], {}, 'rules[0].grants'],
    ['empty audiences', [rule('x', 'true', { audiences: [] })], {}, 'rules[0].grants.audiences'],
    ['a bad scope token', [rule('x', 'true', { scopes: ['a b'] })], {}, 'rules[0].grants.scopes'],
    ['max_ttl zero', [rule('x', 'true', { max_ttl: 0 })], {}, 'rules[0].grants.max_ttl'],
    ['an unknown grant field', [rule('x', 'true', { scope: ['a'] })], {}, 'rules[0].grants.scope'],
    ['a bad rule name', [rule('has space', 'true')], {}, 'rules[0].name'],
  ];
  it.each(failing)('%s stops startup with a ConfigError', (_name, rules, extra, fragment) => {
    const { file, anchors } = load(rules, extra);
    const caught = thrownBy(anchors);
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as Error).message).toContain(file);
    expect((caught as Error).message).toContain(fragment);
  });

  it('trust_chains defaults to the anchor setting and may narrow it', () => {
    const [anchor] = load([rule('inherit', 'true'), rule('narrow', 'true', { trust_chains: false })], {
      trusted_for_chains: true,
    }).anchors();
    expect(anchor!.policy!.rules.map((r) => r.trustChains)).toEqual([true, false]);
  });
});

describe('AnchorPolicy.evaluate: first match', () => {
  const [anchor] = load([
    rule('errors', 'claims.environment == "prod"'),
    rule('main', 'claims.ref == "refs/heads/main"', { subject: '"ci:" + claims.repository' }),
    rule('any', 'true'),
  ]).anchors();
  const policy = anchor!.policy!;

  it('the first rule whose condition is true decides; an erroring condition does not match', () => {
    const result = policy.evaluate(view({ ref: 'refs/heads/main', repository: 'acme/app' }));
    expect(result.matched?.name).toBe('main');
    expect(result.trace).toEqual([
      {
        rule: 'errors',
        result: 'error',
        error: 'No such key: environment',
        reads: [{ path: 'claims.environment', value: undefined }],
      },
      { rule: 'main', result: 'matched', reads: [{ path: 'claims.ref', value: 'refs/heads/main' }] },
    ]);
  });

  it('all=true evaluates every rule (explain), still reporting the first match', () => {
    const result = policy.evaluate(view({ ref: 'refs/heads/main' }), true);
    expect(result.matched?.name).toBe('main');
    expect(result.trace.map((t) => [t.rule, t.result])).toEqual([
      ['errors', 'error'],
      ['main', 'matched'],
      ['any', 'matched'],
    ]);
  });

  it('falls through to a later rule', () => {
    expect(policy.evaluate(view({ ref: 'refs/heads/dev' })).matched?.name).toBe('any');
  });
});
