import { spawnSync } from 'node:child_process';
import { describe, it } from '@jest/globals';

/** Debian's `prometheus` package provides promtool (.ci/run installs it). */
export const PROMTOOL = process.env.PROMTOOL ?? 'promtool';

function promtoolInstalled(): boolean {
  return spawnSync(PROMTOOL, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Runs promtool; resolves to its exit status and output. */
export function promtool(args: readonly string[], input?: string): { status: number | null; output: string } {
  const run = spawnSync(PROMTOOL, args, { input, encoding: 'utf8', timeout: 30_000 });
  return { status: run.status, output: `${run.stdout ?? ''}${run.stderr ?? ''}` };
}

/**
 * `describe` for suites that need promtool: skipped with a loud message where it is missing, except
 * under CI=true, where they fail (as describeWithChromium does for the browser).
 */
export function describeWithPromtool(): typeof describe {
  if (promtoolInstalled()) return describe;
  if (process.env.CI === 'true') {
    describe('promtool', () => {
      it(`is installed as ${PROMTOOL} (required under CI=true)`, () => {
        throw new Error(`no ${PROMTOOL} on PATH; apt-get install prometheus (.ci/run does)`);
      });
    });
    return describe;
  }
  process.stderr.write(
    `\n!!!!!!!!!!\n!!! SKIPPING promtool checks: no ${PROMTOOL} on PATH (apt-get install prometheus, or set PROMTOOL; under CI=true they fail instead)\n!!!!!!!!!!\n\n`,
  );
  return describe.skip as typeof describe;
}
