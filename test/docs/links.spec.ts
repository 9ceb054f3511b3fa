import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { itMaps } from '../support/maps.js';

/**
 * The Markdown documentation stays navigable: every relative link reaches a file, every `#anchor` a
 * heading of its target, and every page under docs/ is reachable from the README.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'coverage', '.git']);

describe('Markdown links', () => {
  const files = markdownFiles(ROOT);

  it('finds the documentation', () => {
    expect(files).toEqual(expect.arrayContaining(['README.md', 'BENCHMARKS.md', 'trust-anchors/README.md']));
    expect(files.filter((f) => f.startsWith('docs/')).length).toBeGreaterThan(1);
  });

  it('every relative link points to an existing file, and every #anchor to a heading there', () => {
    const broken: string[] = [];
    for (const file of files) {
      for (const { target, line } of links(readFileSync(join(ROOT, file), 'utf8'))) {
        const problem = checkLink(file, target);
        if (problem) broken.push(`${file}:${line}: ${target}: ${problem}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('the README stays short and reaches every page under docs/', () => {
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8').trimEnd().split('\n').length).toBeLessThanOrEqual(200);
    const reached = reachable('README.md');
    const unreached = files.filter((f) => f.startsWith('docs/') && !reached.has(f));
    expect(unreached).toEqual([]);
  });
});

describe('githubSlug', () => {
  itMaps(githubSlug, [
    ['Clients (`CLIENTS_FILE`, default `config/clients.yaml`)', 'clients-clients_file-default-configclientsyaml'],
    ['Cross App Access (ID-JAG) and JWT bearer grants', 'cross-app-access-id-jag-and-jwt-bearer-grants'],
    ['DPoP: sender-constrained tokens (RFC 9449)', 'dpop-sender-constrained-tokens-rfc-9449'],
    ['SAML 2.0', 'saml-20'],
    ['`id_jag:` (ID-JAG redemption)', 'id_jag-id-jag-redemption'],
    ['JWT → JWT', 'jwt--jwt'],
    ['Resource servers: [`actbridge/verify`](../src/verify)', 'resource-servers-actbridgeverify'],
  ]);
});

/** Repository-relative paths of the Markdown files, sorted. */
function markdownFiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) found.push(...markdownFiles(join(dir, entry.name)));
    } else if (entry.name.toLowerCase().endsWith('.md')) {
      found.push(relative(ROOT, join(dir, entry.name)));
    }
  }
  return found.sort();
}

/** Markdown text outside fenced code blocks and inline code, keeping line numbers. */
function prose(markdown: string): string[] {
  let fence: string | undefined;
  return markdown.split('\n').map((line) => {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence !== undefined) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      return '';
    }
    if (marker) {
      fence = marker;
      return '';
    }
    return line.replace(/(`+)[^`]*?\1/g, '');
  });
}

/** Inline links `[text](target)` and reference definitions `[label]: target`, external ones left out. */
function links(markdown: string): { target: string; line: number }[] {
  const found: { target: string; line: number }[] = [];
  prose(markdown).forEach((text, index) => {
    const targets = [
      ...[...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!),
      ...[...text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/g)].map((m) => m[1]!),
    ];
    for (const target of targets) {
      if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) found.push({ target, line: index + 1 });
    }
  });
  return found;
}

/** Why `target`, written in `file`, does not resolve; undefined when it does. */
function checkLink(file: string, target: string): string | undefined {
  const hash = target.indexOf('#');
  const path = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
  const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const resolved = path === '' ? join(ROOT, file) : resolve(ROOT, dirname(file), path);
  if (!resolved.startsWith(ROOT)) return 'outside the repository';
  if (!existsSync(resolved)) return 'no such file';
  if (anchor === undefined) return undefined;
  if (!resolved.toLowerCase().endsWith('.md') || statSync(resolved).isDirectory())
    return 'anchor into a non-Markdown file';
  return headingSlugs(readFileSync(resolved, 'utf8')).has(anchor) ? undefined : 'no such heading';
}

/** The anchors GitHub generates for a document's headings (a repeated heading gets -1, -2, ...). */
function headingSlugs(markdown: string): Set<string> {
  const slugs = new Set<string>();
  const seen = new Map<string, number>();
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence !== undefined) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      continue;
    }
    if (marker) {
      fence = marker;
      continue;
    }
    const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = githubSlug(heading);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    slugs.add(count === 0 ? slug : `${slug}-${count}`);
  }
  for (const html of markdown.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) slugs.add(html[1]!);
  return slugs;
}

/** GitHub's heading anchor: the rendered text lowercased, punctuation but `-` and `_` dropped, spaces → `-`. */
function githubSlug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/[*`]/g, '');
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

/** Markdown files reachable from `start` by relative links. */
function reachable(start: string): Set<string> {
  const seen = new Set<string>([start]);
  const queue = [start];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const { target } of links(readFileSync(join(ROOT, file), 'utf8'))) {
      const path = decodeURIComponent(target.split('#')[0]!);
      if (!path.toLowerCase().endsWith('.md')) continue;
      const next = relative(ROOT, resolve(ROOT, dirname(file), path));
      if (!seen.has(next) && existsSync(join(ROOT, next))) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return seen;
}
