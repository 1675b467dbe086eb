// The dependency cache's copies (builder/cache.ts): a small tree (the empty node_modules of an app
// with no dependencies, a few files) is copied in-process, a big one by GNU cp; both must come back
// as the build left them: files, links as links (never followed), modes and times, directories'
// times included (npm trusts node_modules/.package-lock.json only while no package directory is
// newer than it). Real files in temp dirs; nothing is mocked.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DepCache } from '../builder/cache.js';
import { tempDir } from './helpers/paas.js';

/** Every entry under `root`: its kind, mode, mtime (ms) and, for a link, its target; links never followed. */
function listing(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    const file = path.join(root, rel);
    const st = fs.lstatSync(file);
    const kind = st.isSymbolicLink() ? `link -> ${fs.readlinkSync(file)}` : st.isDirectory() ? 'dir' : `file ${fs.readFileSync(file, 'utf8')}`;
    out[rel || '.'] = `${kind} mode ${(st.mode & 0o7777).toString(8)} mtime ${Math.floor(st.mtimeMs)}`;
    if (st.isDirectory() && !st.isSymbolicLink()) for (const name of fs.readdirSync(file).sort()) walk(path.posix.join(rel, name));
  };
  walk('');
  return out;
}

/** A node_modules-like tree of `files` files, an executable, a relative link and a dangling one, every time set in the past. */
function makeTree(files: number): string {
  const root = tempDir('paas-cache-src-');
  fs.mkdirSync(path.join(root, 'pkg', 'lib'), { recursive: true });
  fs.mkdirSync(path.join(root, '.bin'));
  for (let i = 0; i < files; i++) fs.writeFileSync(path.join(root, 'pkg', 'lib', `f${i}.js`), `module.exports = ${i};`);
  fs.writeFileSync(path.join(root, 'pkg', 'cli.js'), '#!/usr/bin/env node\n');
  fs.chmodSync(path.join(root, 'pkg', 'cli.js'), 0o750);
  fs.chmodSync(path.join(root, 'pkg', 'lib'), 0o711);
  fs.symlinkSync('../pkg/cli.js', path.join(root, '.bin', 'cli'));
  fs.symlinkSync('../nowhere', path.join(root, '.bin', 'dangling'));
  const past = new Date('2024-01-02T03:04:05Z');
  const times = (rel: string) => {
    const file = path.join(root, rel);
    const st = fs.lstatSync(file);
    if (st.isDirectory()) for (const name of fs.readdirSync(file)) times(path.join(rel, name));
    fs.lutimesSync(file, past, new Date(past.getTime() + rel.length * 1000));
  };
  times('');
  return root;
}

describe('the dependency cache', () => {
  for (const [size, files] of [['small (copied in-process)', 3], ['big (copied by cp)', 200]] as const) {
    it(`gives a ${size} tree back as it was saved: links, modes and times`, async () => {
      const src = makeTree(files);
      const want = listing(src);
      const cache = new DepCache(tempDir('paas-cache-'));
      expect(await cache.save('node', 'k1', src)).toBe(true);
      // The entry itself, then what a build gets back from it (into a fresh, empty directory).
      const tree = tempDir('paas-cache-tree-');
      expect(await cache.restore('node', 'k1', path.join(tree, 'node_modules'))).toBe(src);
      const got = listing(path.join(tree, 'node_modules'));
      expect(got).toEqual(want);
      // The copies are the build's own: writing to one leaves the cache entry as it was.
      fs.writeFileSync(path.join(tree, 'node_modules', 'pkg', 'cli.js'), 'changed');
      const again = tempDir('paas-cache-tree-');
      await cache.restore('node', 'k1', path.join(again, 'node_modules'));
      expect(fs.readFileSync(path.join(again, 'node_modules', 'pkg', 'cli.js'), 'utf8')).toBe('#!/usr/bin/env node\n');
    });
  }

  it('gives an empty directory back empty, with its mode and time', async () => {
    const src = tempDir('paas-cache-src-');
    fs.chmodSync(src, 0o755);
    fs.utimesSync(src, new Date('2024-01-02T03:04:05Z'), new Date('2024-01-02T03:04:05Z'));
    const cache = new DepCache(tempDir('paas-cache-'));
    expect(await cache.save('node', 'empty', src)).toBe(true);
    const dest = path.join(tempDir('paas-cache-tree-'), 'node_modules');
    await cache.restore('node', 'empty', dest);
    expect(listing(dest)).toEqual(listing(src));
  });
});
