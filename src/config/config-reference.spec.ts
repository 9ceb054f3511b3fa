import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { envReferenceMarkdown, REFERENCE_END, REFERENCE_START } from './config-reference.js';

describe('README environment reference', () => {
  it('matches the ServerConfig declarations (run `npm run docs:config` after changing a setting)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const block = readme.slice(readme.indexOf(REFERENCE_START) + REFERENCE_START.length, readme.indexOf(REFERENCE_END));
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
