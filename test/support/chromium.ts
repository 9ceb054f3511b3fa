import { existsSync } from 'node:fs';
import { describe, it } from '@jest/globals';
import { chromium, type Browser } from 'playwright-core';

/** Debian's `chromium` package (.ci/run installs it). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Headless, and nothing that would reach beyond this machine. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

/**
 * `describe` for suites that drive a real browser: where Chromium is missing they are skipped with a
 * loud message, except under CI=true, where they run (and fail) so that a missing browser cannot go
 * unnoticed (as describeWithRedis does for Redis).
 */
export function describeWithChromium(): typeof describe {
  if (existsSync(CHROMIUM_PATH)) return describe;
  if (process.env.CI === 'true') {
    describe('Chromium', () => {
      it(`is installed at ${CHROMIUM_PATH} (required under CI=true)`, () => {
        throw new Error(`no Chromium at ${CHROMIUM_PATH}; apt-get install chromium (.ci/run does)`);
      });
    });
    return describe;
  }
  process.stderr.write(
    `\n!!!!!!!!!!\n!!! SKIPPING browser tests: no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH; under CI=true they fail instead)\n!!!!!!!!!!\n\n`,
  );
  return describe.skip as typeof describe;
}
