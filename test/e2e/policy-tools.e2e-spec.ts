import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { githubConnection } from '../support/connections.js';
import { createTestIssuer, type TestIssuer } from '../support/test-issuer.js';

/**
 * The operator tools as operators run them: `node dist/cli/explain.js` and `node dist/cli/policy-test.js`
 * (what `npm run explain` / `npm run policy:test` start, after the build `npm test` runs first), against
 * configuration files on disk and tokens signed by a test issuer.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const STS = 'https://sts.example.com';
const WORKFLOW = 'acme/workflows/.github/workflows/deploy.yml@refs/heads/main';
// A recorded job token: issued 2026-03-01T10:00:00Z, valid five minutes.
const IAT = Date.parse('2026-03-01T10:00:00Z') / 1000;

let dir: string;
let ci: TestIssuer;
let recorded: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(script: string, args: string[], env: Record<string, string> = {}, stdin?: string): Promise<Run> {
  return new Promise((done) => {
    const child = execFile(
      process.execPath,
      [join(ROOT, 'dist/cli', script), ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH, LOG_LEVEL: 'error', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (stdin !== undefined) child.stdin!.end(stdin);
  });
}

function configEnv(anchorsDir: string): Record<string, string> {
  return { ISSUER: STS, TRUST_ANCHORS_DIR: anchorsDir, CLIENTS_FILE: join(dir, 'clients.yaml') };
}

/** `npm run explain` with `args`, against the trust anchors in `dir`/`anchors`; `stdin` for `-`. */
const explain = (args: string[], anchors = 'anchors', stdin?: string) =>
  run('explain.js', args, configEnv(join(dir, anchors)), stdin);
/** The same for the recorded job token, presented by ci-deployer. */
const explainRecorded = (args: string[], anchors = 'anchors') =>
  explain(['--subject-token', recorded, '--client', 'ci-deployer', ...args], anchors);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'actbridge-tools-'));
  ci = await createTestIssuer('https://ci.example', 'RS256');
  const anchor = {
    issuer: ci.issuer,
    jwks: ci.publicJwks,
    audiences: [STS],
    algorithms: ['RS256'],
    rules: [
      {
        name: 'deploy',
        condition: `claims.repository_owner_id == "1234" && claims.ref == "refs/heads/main" && claims.job_workflow_ref == "${WORKFLOW}"`,
        grants: {
          audiences: ['https://deploy.example'],
          scopes: ['deploy'],
          max_ttl: 120,
          subject: '"ci:" + claims.repository',
        },
      },
      {
        name: 'read',
        condition: 'claims.repository_owner_id == "1234" && claims.?environment.orValue("") == "dev"',
        grants: { audiences: ['https://deploy.example'], scopes: ['read'] },
      },
    ],
  };
  const mkdir = (name: string) => {
    const d = join(dir, name);
    mkdirSync(d);
    return d;
  };
  writeFileSync(join(mkdir('anchors'), 'ci.yaml'), stringify(anchor));
  const broken = { ...anchor, rules: [anchor.rules[0], { ...anchor.rules[1], condition: 'claims.ref ==\n  ' }] };
  writeFileSync(join(mkdir('broken'), 'ci.yaml'), stringify(broken));
  writeFileSync(
    join(dir, 'clients.yaml'),
    stringify({
      clients: [
        {
          client_id: 'ci-deployer',
          token_endpoint_auth_method: 'client_secret_basic',
          client_secret: 'placeholder-secret-0123456789',
          audiences: ['https://deploy.example'],
          default_audience: 'https://deploy.example',
          scopes: ['deploy', 'read'],
          token_ttl: 900,
        },
        {
          client_id: 'ci-dpop',
          token_endpoint_auth_method: 'client_secret_basic',
          client_secret: 'placeholder-secret-0123456789',
          audiences: ['https://deploy.example'],
          default_audience: 'https://deploy.example',
          scopes: ['read'],
          dpop_bound_access_tokens: true,
        },
      ],
    }),
  );
  recorded = await ci.mint(
    {
      sub: 'repo:acme/app:ref:refs/heads/main',
      aud: STS,
      iat: IAT,
      exp: IAT + 300,
      repository: 'acme/app',
      repository_owner_id: '1234',
      ref: 'refs/heads/main',
      job_workflow_ref: WORKFLOW,
    },
    { typ: 'JWT' },
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run explain', () => {
  it('explains a token that would be issued: anchor, each rule with its inputs, the outcome', async () => {
    const result = await explain(
      ['--subject-token', '-', '--client', 'ci-deployer', '--at', '2026-03-01T10:01:00Z'],
      'anchors',
      recorded,
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        'client    ci-deployer',
        `subject   repo:acme/app:ref:refs/heads/main (issuer ${ci.issuer}; urn:ietf:params:oauth:token-type:jwt)`,
        `anchor    ci (${ci.issuer})`,
        'clock     2026-03-01T10:01:00.000Z (--at)',
        'replay    single-use identifiers are neither checked nor consumed by explain',
        '',
        'rules (in order; the first match decides):',
        '  1. deploy: MATCHED (first match: decides)',
        '       claims.repository_owner_id = "1234"',
        '       claims.ref = "refs/heads/main"',
        `       claims.job_workflow_ref = "${WORKFLOW}"`,
        '  2. read: not matched',
        '       claims.repository_owner_id = "1234"',
        '       claims.environment = (absent)',
        '',
        "issued sub (rule deploy's subject expression):",
        '       claims.repository = "acme/app"',
        '       → ci:acme/app',
        '',
        'outcome   WOULD ISSUE',
        `  sub         ci:acme/app (sub_id iss ${STS})`,
        `  mode        delegation, act {"sub":"ci-deployer","iss":"${STS}"}`,
        '  audience    https://deploy.example',
        '  scope       deploy',
        '  ttl         120 s (until 2026-03-01T10:03:00.000Z)',
        '  rule        ci/deploy',
        '',
      ].join('\n'),
    );
  });

  it('explains a refusal: the step, the error the caller would get, the operator detail (exit 1)', async () => {
    const result = await explainRecorded(['--scope', 'read', '--at', String(IAT + 60)]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      [
        'outcome   WOULD REFUSE at step "delegation"',
        '  error              invalid_scope',
        "  error_description  scope exceeds what this subject's trust anchor policy grants",
        '  detail (operators) rule ci/deploy does not grant: read',
      ].join('\n'),
    );
  });

  it("prints the caller's claims with control characters escaped: no escape sequence, no forged report line", async () => {
    const hostile = await ci.mint(
      {
        sub: 'x\u001b[2J\noutcome   WOULD ISSUE',
        aud: STS,
        iat: IAT,
        exp: IAT + 300,
        repository_owner_id: '1234',
        environment: 'dev',
      },
      { typ: 'JWT' },
    );
    const result = await explain(
      ['--subject-token', hostile, '--client', 'ci-deployer', '--scope', 'deploy', '--at', String(IAT + 60)],
      'anchors',
    );
    expect(result.code).toBe(1);
    expect(result.stdout.split('\n')[1]).toBe(
      `subject   x\\u001b[2J\\u000aoutcome   WOULD ISSUE (issuer ${ci.issuer}; urn:ietf:params:oauth:token-type:jwt)`,
    );
    expect(result.stdout).not.toContain('\u001b');
  });

  it('a DPoP-bound token (cnf.jkt) would issue only with a proof by its key; a cnf the endpoint refuses, refused', async () => {
    const claims = { aud: STS, iat: IAT, exp: IAT + 300, repository_owner_id: '1234', environment: 'dev' };
    const mint = (sub: string, cnf: unknown) => ci.mint({ sub, ...claims, cnf }, { typ: 'JWT' });
    const jkt = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
    const at = ['--client', 'ci-deployer', '--scope', 'read', '--at', String(IAT + 60)];
    const bound = await explain(['--subject-token', await mint('bound', { jkt }), ...at], 'anchors');
    expect(bound.code).toBe(0);
    expect(bound.stdout).toContain(
      [
        '  rule        ci/read',
        `  dpop proof  required, signed with the key of thumbprint ${jkt} (the presented token's cnf.jkt)`,
        '',
      ].join('\n'),
    );
    const json = await explain(['--subject-token', await mint('bound', { jkt }), ...at, '--json'], 'anchors');
    expect(JSON.parse(json.stdout).outcome).toMatchObject({ decision: 'issue', sub: 'bound', dpop_jkt: jkt });

    // A client registered with dpop_bound_access_tokens (RFC 9449 §5.2): a proof by any key.
    const client = await explain(
      ['--subject-token', await mint('free', undefined), ...at.slice(2), '--client', 'ci-dpop'],
      'anchors',
    );
    expect(client.code).toBe(0);
    expect(client.stdout).toContain(
      "  rule        ci/read\n  dpop proof  required, by any key (the client's dpop_bound_access_tokens)\n",
    );

    // What the token endpoint refuses whatever the request carries (src/dpop/sender-constraint.ts).
    const refusals: Array<[unknown, string]> = [
      [
        { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' },
        'subject_token is sender-constrained by a method actbridge cannot verify (only cnf.jkt is supported)',
      ],
      ['NzbLsXh8uDCcd', 'subject_token has a malformed cnf claim'],
      [{ jkt: 42 }, 'subject_token has a malformed cnf.jkt claim'],
      [{ jkt: 'not-a-thumbprint' }, 'subject_token has a malformed cnf.jkt claim'],
    ];
    for (const [cnf, description] of refusals) {
      const refused = await explain(['--subject-token', await mint('x', cnf), ...at, '--json'], 'anchors');
      expect({ code: refused.code, outcome: JSON.parse(refused.stdout).outcome }).toEqual({
        code: 1,
        outcome: {
          decision: 'refuse',
          step: 'subject_token',
          error: 'invalid_request',
          error_description: description,
        },
      });
    }

    // Subject and actor bound to different keys: no one DPoP proof can prove both.
    const actor = await mint('agent', { jkt: 'fV1xYyTo-aVpkcT0bmIbNMMKmFPgi2U_FAO2C3FgXtk' });
    const both = await explain(
      [
        '--subject-token',
        await mint('bound', { jkt }),
        '--actor-token',
        actor,
        '--actor-token-type',
        'jwt',
        ...at,
        '--json',
      ],
      'anchors',
    );
    expect({ code: both.code, outcome: JSON.parse(both.stdout).outcome }).toEqual({
      code: 1,
      outcome: {
        decision: 'refuse',
        step: 'actor_token',
        error: 'invalid_request',
        error_description: 'actor_token is DPoP-bound to a different key than the DPoP proof',
      },
    });
  });

  it('validates with the real validators at the given clock: an expired token (--json)', async () => {
    const result = await explainRecorded(['--at', '2026-03-02T00:00:00Z', '--json']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({
      client_id: 'ci-deployer',
      outcome: {
        decision: 'refuse',
        step: 'subject_token',
        error: 'invalid_request',
        error_description: 'subject_token has expired',
      },
    });
  });

  it('a rule that does not compile stops it with the file, the rule and the position (exit 2)', async () => {
    const result = await explainRecorded([], 'broken');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(join(dir, 'broken', 'ci.yaml'));
    expect(result.stderr).toMatch(
      /rules\[1\]\.condition: \(rule "read"\) syntax error: .+ \(at line \d+, column \d+\)/,
    );
  });

  it('does not explain a request naming a token-vault connection (its rules decide): exit 2', async () => {
    const connections = join(dir, 'connections');
    mkdirSync(connections, { recursive: true });
    writeFileSync(join(connections, 'github.yaml'), stringify(githubConnection('ci-deployer', 'ci-deployer')));
    const result = await run(
      'explain.js',
      ['--subject-token', recorded, '--client', 'ci-deployer', '--resource', 'https://api.github.com'],
      { ...configEnv(join(dir, 'anchors')), CONNECTIONS_DIR: connections, GITHUB_CLIENT_SECRET: 'secret' },
    );
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({
      code: 2,
      stdout: '',
      stderr: `explain covers trust-anchor policy, not token-vault exchanges: https://api.github.com names connection github (${join(connections, 'github.yaml')}), decided by its rules (docs/token-vault.md)\n`,
    });
  });

  it('usage errors exit 2', async () => {
    const result = await explain(['--client', 'x']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--subject-token and --client are required/);
  });
});

describe('npm run policy:test', () => {
  it('passes the shipped example anchors (policy-tests/*.yaml)', async () => {
    const result = await run('policy-test.js', []);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\n\d+ passed, 0 failed \(4 file\(s\)\)\n$/);
    expect(result.stdout).not.toContain('✗');
  });

  it('recorded tokens at a fixed clock; failures print a diff and exit 1', async () => {
    const file = join(dir, 'cases.yaml');
    writeFileSync(
      file,
      stringify({
        anchors: ['anchors/ci.yaml'],
        clients_file: 'clients.yaml',
        env: { ISSUER: STS },
        cases: [
          {
            name: 'recorded job token within its lifetime',
            client: 'ci-deployer',
            token: recorded,
            at: '2026-03-01T10:04:00Z',
            expect: { allowed: { sub: 'ci:acme/app', sub_iss: STS, scope: 'deploy', ttl: 60, rule: 'deploy' } },
          },
          {
            name: 'the same token after it expired',
            client: 'ci-deployer',
            token: recorded,
            at: IAT + 3600,
            expect: {
              refused: {
                step: 'subject_token',
                error: 'invalid_request',
                error_description: 'subject_token has expired',
              },
            },
          },
          {
            name: 'a wrong expectation',
            client: 'ci-deployer',
            anchor: 'ci',
            claims: {
              sub: 'x',
              repository: 'acme/app',
              repository_owner_id: '1234',
              ref: 'refs/heads/main',
              job_workflow_ref: WORKFLOW,
            },
            expect: { allowed: { sub: 'acme/app', scope: 'deploy read', ttl: 120 } },
          },
          {
            name: 'expects a refusal that does not happen',
            client: 'ci-deployer',
            anchor: 'ci',
            claims: { sub: 'x', repository_owner_id: '1234', environment: 'dev' },
            expect: { refused: { error: 'invalid_request' } },
          },
        ],
      }),
    );
    const result = await run('policy-test.js', [file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(
      [
        file,
        '  ✓ recorded job token within its lifetime',
        '  ✓ the same token after it expired',
        '  ✗ a wrong expectation',
        '      sub: expected "acme/app", got "ci:acme/app"',
        '      scope: expected "deploy read", got "deploy"',
        '  ✗ expects a refusal that does not happen',
        '      expected a refusal (invalid_request), but it would issue: sub x, audience https://deploy.example, scope "read", ttl 900, rule ci/read',
        '',
        '2 passed, 2 failed (1 file(s))',
        '',
      ].join('\n'),
    );
  });

  it("prints a failing case's outcome with control characters escaped: no escape sequence, no forged line", async () => {
    const hostile = await ci.mint(
      {
        sub: 'x\u001b[2J\n  ✓ forged',
        aud: STS,
        iat: IAT,
        exp: IAT + 300,
        repository_owner_id: '1234',
        environment: 'dev',
      },
      { typ: 'JWT' },
    );
    const file = join(dir, 'hostile.yaml');
    writeFileSync(
      file,
      stringify({
        anchors: ['anchors/ci.yaml'],
        clients_file: 'clients.yaml',
        env: { ISSUER: STS },
        cases: [
          {
            name: 'hostile sub',
            client: 'ci-deployer',
            token: hostile,
            at: IAT + 60,
            scope: 'read',
            expect: { refused: { error: 'invalid_request' } },
          },
        ],
      }),
    );
    const result = await run('policy-test.js', [file]);
    expect(result.code).toBe(1);
    expect(result.stdout.split('\n').slice(1, 3)).toEqual([
      '  ✗ hostile sub',
      '      expected a refusal (invalid_request), but it would issue: sub x\\u001b[2J\\u000a  ✓ forged, audience https://deploy.example, scope "read", ttl 240, rule ci/read',
    ]);
    expect(result.stdout).not.toContain('\u001b');
  });

  it('a case that cannot be run fails alone: the cases after it run, the ones before count', async () => {
    const file = join(dir, 'unrunnable.yaml');
    const ok = {
      client: 'ci-deployer',
      anchor: 'ci',
      claims: { sub: 'x', repository_owner_id: '1234', environment: 'dev' },
    };
    writeFileSync(
      file,
      stringify({
        anchors: ['anchors/ci.yaml'],
        clients_file: 'clients.yaml',
        env: { ISSUER: STS },
        cases: [
          { name: 'first', ...ok, expect: { allowed: { sub: 'x' } } },
          { name: 'names no loaded anchor', ...ok, anchor: 'nope', expect: { allowed: { sub: 'x' } } },
          { name: 'third', ...ok, expect: { allowed: { sub: 'x' } } },
        ],
      }),
    );
    const result = await run('policy-test.js', [file]);
    expect({ code: result.code, stdout: result.stdout }).toEqual({
      code: 1,
      stdout: [
        file,
        '  ✓ first',
        '  ✗ names no loaded anchor',
        `      cannot run: ${file}: case "names no loaded anchor": no anchor named "nope" (have: ci)`,
        '  ✓ third',
        '',
        '2 passed, 1 failed (1 file(s))',
        '',
      ].join('\n'),
    });
  });

  it('an invalid test file is reported and fails the run', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, stringify({ cases: [{ name: 'x', client: 'c', claims: {}, expect: {} }] }));
    const result = await run('policy-test.js', [file], configEnv(join(dir, 'anchors')));
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('cases[0].anchor: required with claims');
    expect(result.stdout).toContain('cases[0].expect: give exactly one of allowed, refused');
  });
});
