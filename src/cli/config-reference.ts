/** Rewrites the environment reference in docs/configuration.md from the ServerConfig declarations: `npm run docs:config`. */
import { readFileSync, writeFileSync } from 'node:fs';
import { envReferenceMarkdown, REFERENCE_END, REFERENCE_START } from '../config/config-reference.js';

const page = new URL('../../docs/configuration.md', import.meta.url);
const text = readFileSync(page, 'utf8');
const start = text.indexOf(REFERENCE_START);
const end = text.indexOf(REFERENCE_END);
if (start < 0 || end < start) {
  process.stderr.write('docs/configuration.md has no env-reference markers\n');
  process.exit(1);
}
writeFileSync(page, `${text.slice(0, start + REFERENCE_START.length)}\n${envReferenceMarkdown()}\n${text.slice(end)}`);
