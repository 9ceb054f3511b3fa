/** Rewrites the environment reference in README.md from the ServerConfig declarations: `npm run docs:config`. */
import { readFileSync, writeFileSync } from 'node:fs';
import { envReferenceMarkdown, REFERENCE_END, REFERENCE_START } from '../config/config-reference.js';

const readme = new URL('../../README.md', import.meta.url);
const text = readFileSync(readme, 'utf8');
const start = text.indexOf(REFERENCE_START);
const end = text.indexOf(REFERENCE_END);
if (start < 0 || end < start) {
  process.stderr.write('README.md has no env-reference markers\n');
  process.exit(1);
}
writeFileSync(
  readme,
  `${text.slice(0, start + REFERENCE_START.length)}\n${envReferenceMarkdown()}\n${text.slice(end)}`,
);
