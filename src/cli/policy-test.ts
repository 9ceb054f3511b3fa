/**
 * Policy tests, for CI: `npm run -s policy:test [-- files...]` (default: every `policy-tests/*.yaml`).
 * Each file names the configuration it tests (anchor files, clients file, server env) and lists cases:
 * a subject (claims / SAML attributes, or a recorded token at a fixed clock), a client and a request,
 * and the expected decision. Cases run through the real request parsing, validators and delegation
 * core in a Nest application context; nothing is issued. Exit code 1 when any case fails, 2 usage error.
 */
import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../config/config-error.js';
import { listYamlFiles } from '../config/config-files.js';
import { PolicyCheck } from '../policy-tools/policy-check.js';
import { caseInput, caseTime, compareOutcome, loadPolicyTestFile } from '../policy-tools/policy-test-file.js';
import { createPolicyToolsContext } from '../policy-tools/policy-tools.module.js';
import { TrustAnchorRegistry } from '../trust-anchors/trust-anchor-registry.js';
import { clock } from '../common/clock.js';
import { printable } from '../common/printable.js';

async function runFile(file: string): Promise<{ passed: number; failed: number }> {
  const tests = loadPolicyTestFile(file);
  const context = await createPolicyToolsContext(tests.config);
  let passed = 0;
  let failed = 0;
  process.stdout.write(`${file}\n`);
  try {
    const check = context.get(PolicyCheck);
    const anchors = context.get(TrustAnchorRegistry);
    for (const c of tests.cases) {
      const at = caseTime(c);
      let diffs: string[];
      try {
        const report = await clock.at(at * 1000, () => check.run(caseInput(tests, c, at, anchors)));
        diffs = compareOutcome(c.expect, report.outcome);
      } catch (error) {
        // A case that cannot be run (an anchor it names is not loaded) fails alone: the file's other cases
        // still run and count, under the file's one header.
        if (!(error instanceof ConfigError)) throw error;
        diffs = [`cannot run: ${error.message}`];
      }
      if (diffs.length === 0) {
        passed++;
        process.stdout.write(`  ✓ ${printable(c.name)}\n`);
      } else {
        failed++;
        // A diff shows the outcome's claims (a recorded token's sub may hold an escape sequence or a newline):
        // each line printable, so none rewrites the terminal or forges a '✓' line in the CI log.
        process.stdout.write(`  ✗ ${printable(c.name)}\n${diffs.map((d) => `      ${printable(d)}\n`).join('')}`);
      }
    }
  } finally {
    await context.close();
  }
  return { passed, failed };
}

const USAGE = 'usage: npm run -s policy:test [-- files...]   (default: every policy-tests/*.yaml)\n';

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  // An option here is a mistake (a misspelt flag read as a missing file would fail CI as a broken policy).
  const option = args.find((a) => a.startsWith('-'));
  if (option !== undefined) {
    process.stderr.write(`policy:test: unknown option ${option} (a file starting with - is ./${option})\n${USAGE}`);
    return 2;
  }
  if (args.length === 0 && !existsSync(resolve('policy-tests'))) {
    process.stderr.write('policy:test: no files given, and there is no policy-tests/ directory here\n');
    return 1;
  }
  const files = args.length > 0 ? args.map((f) => resolve(f)) : listYamlFiles(resolve('policy-tests'));
  let passed = 0;
  let failed = 0;
  let broken = 0;
  for (const file of files) {
    try {
      const result = await runFile(file);
      passed += result.passed;
      failed += result.failed;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      broken++;
      process.stdout.write(`${file}\n  ✗ cannot run: ${error.message}\n`);
    }
  }
  process.stdout.write(
    `\n${passed} passed, ${failed} failed${broken ? `, ${broken} file(s) could not be run` : ''} (${files.length} file(s))\n`,
  );
  return failed > 0 || broken > 0 || files.length === 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`policy:test: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
