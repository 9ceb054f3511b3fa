import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { envReferenceMarkdown, REFERENCE_END, REFERENCE_START } from './config-reference.js';

describe('docs/configuration.md environment reference', () => {
  it('matches the ServerConfig declarations (run `npm run docs:config` after changing a setting)', () => {
    const page = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    const block = page.slice(page.indexOf(REFERENCE_START) + REFERENCE_START.length, page.indexOf(REFERENCE_END));
    expect(cells(block)).toEqual(cells(envReferenceMarkdown()));
  });
});

/** Table content without the column padding Prettier adds. */
function cells(table: string): string[][] {
  return table
    .trim()
    .split('\n')
    .map((row) =>
      row
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim().replace(/^-+$/, '---')),
    );
}
