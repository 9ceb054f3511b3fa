import { existsSync, linkSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Why a new file was not written: one line naming the file (never a stack). */
export class WriteRefused extends Error {}

function codeOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'error';
}

/**
 * Writes `text` to a new file `out` (mode 0600), never over an existing one, and never visible half
 * written: written beside it, then hard-linked into place (which fails if `out` exists).
 */
export function writeNewFile(out: string, text: string): void {
  if (existsSync(out)) throw new WriteRefused(`${out}: already exists; not overwritten`);
  const temporary = join(dirname(out), `.${basename(out)}.tmp`);
  try {
    writeFileSync(temporary, text, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if (codeOf(error) === 'EEXIST')
      throw new WriteRefused(`${temporary}: already exists (an interrupted run?); remove it`);
    throw new WriteRefused(`${out}: cannot be written (${codeOf(error)})`);
  }
  try {
    // A reader never sees an empty or partial file; link (not rename) refuses an existing target.
    linkSync(temporary, out);
  } catch (error) {
    throw new WriteRefused(`${out}: cannot be written (${codeOf(error)})`);
  } finally {
    unlinkSync(temporary);
  }
}
