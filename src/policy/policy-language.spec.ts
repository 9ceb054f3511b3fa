import { describe, expect, it } from '@jest/globals';
import { compileExpression, PolicyCompileError } from './policy-language.js';
import { type SubjectView } from './subject-view.js';

const view: SubjectView = {
  claims: {
    sub: 'repo:acme/app:ref:refs/heads/main',
    repository: 'acme/app',
    repository_owner_id: '1234',
    ref: 'refs/heads/main',
    groups: ['eng', 'ops'],
    run_attempt: 2,
    nested: { tier: 'gold' },
    'odd-name': 'x',
  },
  attributes: { groups: ['eng', 'ops'], repository: ['acme/app'] },
  name_id: '',
  name_id_format: '',
  issuer: 'https://token.actions.githubusercontent.com',
  token_type: 'urn:ietf:params:oauth:token-type:jwt',
  sub: 'repo:acme/app:ref:refs/heads/main',
  scopes: [],
  actors: [{ sub: 'svc-a', iss: 'https://idp.example' }, { sub: 'svc-b' }],
  client_id: 'ci-deployer',
};

describe('compileExpression: conditions', () => {
  it.each([
    ['claims.repository == "acme/app"', true],
    ['claims.repository_owner_id == "1234" && claims.ref == "refs/heads/main"', true],
    ['glob(claims.sub, "repo:acme/*:ref:refs/heads/main")', true],
    ['glob(sub, "repo:other/*:ref:**")', false],
    ['claims.groups.exists(g, g == "ops")', true],
    ['claims.groups.all(g, g in ["eng", "ops"])', true],
    ['attributes.groups.exists(g, g == "admin")', false],
    ['"eng" in attributes.groups', true],
    ['actors.size() == 2 && actors[0].sub == "svc-a"', true],
    ['actors.all(a, has(a.iss))', false],
    ['claims.run_attempt > 1', true],
    ['claims.nested.tier == "gold"', true],
    ['claims["odd-name"] == "x"', true],
    ['has(claims.environment)', false],
    ['claims.?environment.orValue("none") == "none"', true],
    ['client_id == "ci-deployer" && token_type.endsWith(":jwt")', true],
    ['size(scopes) == 0 && name_id == ""', true],
    // Nested comprehensions where one range is written in the rule: linear in the token's data.
    ['claims.groups.exists(g, ["ops", "sre"].exists(x, g == x))', true],
    ['["admin", "eng"].exists(x, claims.groups.exists(g, g == x))', true],
    ['claims.groups.exists(g, g == "eng") && claims.groups.exists(g, g == "ops")', true],
  ])('%s → %s', (source, expected) => {
    expect(compileExpression(source, 'condition').evaluate(view)).toEqual({ ok: true, value: expected });
  });

  it('reports a condition reading an absent claim as an error (which never matches)', () => {
    const result = compileExpression('claims.environment == "prod"', 'condition').evaluate(view);
    expect(result).toEqual({ ok: false, error: 'No such key: environment' });
  });

  it('reports a dyn condition that is not a bool at run time', () => {
    const result = compileExpression('claims.repository', 'condition').evaluate(view);
    expect(result).toEqual({ ok: false, error: 'condition evaluated to a string, not a bool' });
  });

  it('lists the variables an expression reads, with their values', () => {
    const compiled = compileExpression(
      'claims.repository == "acme/app" && has(claims.environment) && claims.groups.exists(g, g == "x") && claims["odd-name"] != "" && actors.size() > 0',
      'condition',
    );
    expect(compiled.reads(view)).toEqual([
      { path: 'claims.repository', value: 'acme/app' },
      { path: 'claims.environment', value: undefined },
      { path: 'claims.groups', value: ['eng', 'ops'] },
      { path: 'claims["odd-name"]', value: 'x' },
      { path: 'actors', value: view.actors },
    ]);
  });
});

describe('compileExpression: subjects', () => {
  it.each([
    ['"github:" + claims.repository', 'github:acme/app'],
    ['sub', 'repo:acme/app:ref:refs/heads/main'],
    ['claims.repository', 'acme/app'],
  ])('%s → %s', (source, expected) => {
    expect(compileExpression(source, 'subject').evaluate(view)).toEqual({ ok: true, value: expected });
  });

  it('reports a dyn subject that is not a string at run time', () => {
    expect(compileExpression('claims.run_attempt', 'subject').evaluate(view)).toEqual({
      ok: false,
      error: 'subject evaluated to a double, not a string',
    });
  });
});

describe('compileExpression: compile errors name the position', () => {
  it.each([
    ['claims.repository ==', 'condition', /^syntax error: .+ \(at line 1, column 21\)$/],
    ['claims.a == "x" &&\n  claims.b ==== "y"', 'condition', /^syntax error: .+ \(at line 2, column \d+\)$/],
    ['sub + 1 == "x"', 'condition', /^type error: no such overload: string \+ int \(at line 1, column 1\)$/],
    ['repository == "x"', 'condition', /^type error: Unknown variable: repository \(at line 1, column 1\)$/],
    ['glob(sub)', 'condition', /^type error: found no matching overload for 'glob\(string\)' \(at line 1, column 1\)$/],
    ['sub', 'condition', /^type error: a condition must be a bool, this is a string \(at line 1, column 1\)$/],
    ['sub == "x"', 'subject', /^type error: a subject must be a string, this is a bool \(at line 1, column 1\)$/],
    [
      'sub.matches("^repo:(a+)+$")',
      'condition',
      /^matches\(\) is not available in policies; use glob\(\), startsWith\(\), endsWith\(\) \(at line 1, column 1\)$/,
    ],
    [
      'claims.groups.exists(g, claims.roles.exists(r, r == g))',
      'condition',
      /^exists\(\) inside exists\(\) over token data is not available in policies \(its cost grows with the product of two claim lengths\); iterate one claim and test the other with "in" \(at line 1, column 25\)$/,
    ],
    [
      'claims.groups.all(g, claims.groups.filter(h, h == g).size() == 1)',
      'condition',
      /^filter\(\) inside all\(\) over token data is not available in policies .* \(at line 1, column 22\)$/,
    ],
    ['true && glob(sub, "abc\\\\")', 'condition', /^glob pattern ends with a lone "\\" \(at line 1, column 19\)$/],
  ] as const)('%j (%s)', (source, kind, message) => {
    let caught: unknown;
    try {
      compileExpression(source, kind as 'condition');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PolicyCompileError);
    expect((caught as Error).message).toMatch(message);
  });
});
