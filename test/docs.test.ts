// The README stays one a newcomer reads in five minutes, and the docs' links lead somewhere: every
// relative link in README.md and docs/*.md names a file that exists and, with a #fragment, a
// heading of that file (as GitHub makes anchors from headings). Plain file reads: no server needed.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/paas.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const README_MAX_LINES = 250;

/** README.md and every page under docs/, as paths relative to the checkout. */
function pages(): string[] {
  const docs = fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

/** The lines outside fenced code blocks, with inline code removed: links in examples are not links. */
function prose(text: string): string[] {
  let fenced = false;
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trimStart().startsWith('```')) {
      fenced = !fenced;
      continue;
    }
    if (!fenced) out.push(line.replace(/`[^`]*`/g, ''));
  }
  return out;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes, "-1" on repeats. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of text.split('\n')) {
    if (line.trimStart().startsWith('```')) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6} (.*)$/.exec(line);
    if (!heading) continue;
    const base = heading[1].trim().toLowerCase().replace(/[^\p{L}\p{N}\- _]/gu, '').replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Every relative link target of a page (`[text](target)`), without web, mail or absolute ones. */
function relativeLinks(text: string): string[] {
  const out: string[] = [];
  for (const line of prose(text)) {
    for (const m of line.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (!/^[a-z][a-z0-9+.-]*:/i.test(m[1]) && !m[1].startsWith('/')) out.push(m[1]);
    }
  }
  return out;
}

/** What is wrong with each relative link of one page (relative to root): a missing file, or a missing heading. */
function brokenLinks(page: string, root = ROOT): string[] {
  const text = fs.readFileSync(path.join(root, page), 'utf8');
  const broken: string[] = [];
  for (const link of relativeLinks(text)) {
    const [file, fragment] = link.split('#', 2);
    const target = file === '' ? page : path.join(path.dirname(page), decodeURI(file));
    if (!fs.existsSync(path.join(root, target))) {
      broken.push(`${page}: ${link} (no file ${target})`);
      continue;
    }
    if (fragment === undefined || !target.endsWith('.md')) continue;
    if (!anchors(fs.readFileSync(path.join(root, target), 'utf8')).has(fragment)) broken.push(`${page}: ${link} (no heading for #${fragment} in ${target})`);
  }
  return broken;
}

describe('docs', () => {
  it(`keeps README.md to ${README_MAX_LINES} lines: the rest goes under docs/`, () => {
    const lines = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8').trimEnd().split('\n').length;
    expect(lines).toBeLessThanOrEqual(README_MAX_LINES);
  });

  it('has every relative link of README.md and docs/*.md lead to a file and heading that exist', () => {
    const all = pages();
    expect(all).toContain('docs/README.md');
    expect(all.flatMap((page) => brokenLinks(page))).toEqual([]);
  });

  it('finds a broken link and a broken anchor when there is one', () => {
    // The checker itself, on a page made for it: a test of links that finds nothing wrong must be able to.
    const root = tempDir();
    fs.mkdirSync(path.join(root, 'docs'));
    fs.writeFileSync(path.join(root, 'docs', 'page.md'), '# Page\n\n## Two words\n\n[a](#two-words) [b](#none) [c](missing.md) [d](page.md#page) [e](../README.md) `[f](nowhere.md)`\n');
    expect(brokenLinks('docs/page.md', root)).toEqual([
      'docs/page.md: #none (no heading for #none in docs/page.md)',
      'docs/page.md: missing.md (no file docs/missing.md)',
      'docs/page.md: ../README.md (no file README.md)',
    ]);
  });
});
