import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { BuildError } from './errors.js';
import { entryKind, excerpt, handOver } from './safe-fs.js';
import { runApart } from '../lib/run-apart.js';

const run = runApart;
/** Bounds one copy in or out of the cache. */
const COPY_TIMEOUT_MS = 10 * 60_000;

/**
 * How entries are copied in and out: links inside as links, never followed. Never hard links: the
 * build owns its copy and may write to it, and the cache must not change with it.
 */
const COPY = { recursive: true, verbatimSymlinks: true } as const;

/**
 * Up to this many entries, a tree is copied in-process: spawning cp from the server (a fork of a
 * big process, then exec) takes 3-5 ms, more than copying a few files, such as the empty
 * node_modules of an app with no dependencies that every code-only push restores.
 */
const SMALL_TREE = 64;

/** Whether the directory `src` holds at most SMALL_TREE entries in all; stops counting past that. Links are counted, never followed. */
async function smallTree(src: string): Promise<boolean> {
  let left = SMALL_TREE;
  const dirs = [src];
  for (let dir = dirs.pop(); dir !== undefined; dir = dirs.pop()) {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    left -= entries.length;
    if (left < 0) return false;
    for (const e of entries) if (e.isDirectory()) dirs.push(path.join(dir, e.name));
  }
  return true;
}

/**
 * Copies `src` to `dest` (into it, when `dest` is a directory already) with GNU cp, links as links
 * (-P): two to five times faster than fs.cp on trees of many small files (express's node_modules:
 * 60-180 ms against 150-310 ms; its npm cache 30-140 ms against 180-530 ms), and a copy-on-write clone where the
 * filesystem makes one. fs.cp for a small tree (SMALL_TREE) and where there is no cp, with the same
 * modes, times and links. Callers make sure `src` holds nothing but files, directories and links
 * (specialEntry): cp would copy a fifo as a fifo.
 */
async function copy(src: string, dest: string): Promise<void> {
  const into = (await entryKind(dest)) === 'dir';
  const kind = await entryKind(src);
  // Only into nothing or an empty directory: merging into what is there stays cp's.
  const fresh = !into || (await fs.readdir(dest)).length === 0;
  if (fresh && (kind === 'dir' ? await smallTree(src) : kind === 'file' && !into)) return copyHere(src, dest, into);
  try {
    await run('cp', ['-R', '-P', '--preserve=mode,timestamps', '--reflink=auto', '--', into && kind === 'dir' ? `${src}/.` : src, dest], { timeout: COPY_TIMEOUT_MS });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await fs.cp(src, dest, COPY);
  }
}

/**
 * copy() in-process, as `cp -R -P --preserve=mode,timestamps` makes it: links as links, modes and
 * times kept (directories' last, after their entries changed them: npm trusts its hidden lockfile
 * only while no package directory is newer). `into`: `dest` is an empty directory already, else nothing is there.
 */
async function copyHere(src: string, dest: string, into: boolean): Promise<void> {
  const st = await fs.lstat(src);
  if (st.isSymbolicLink()) {
    await fs.symlink(await fs.readlink(src), dest);
    await fs.lutimes(dest, st.atime, st.mtime);
    return;
  }
  if (st.isDirectory()) {
    if (!into) await fs.mkdir(dest);
    for (const name of await fs.readdir(src)) await copyHere(path.join(src, name), path.join(dest, name), false);
  } else {
    await fs.copyFile(src, dest, constants.COPYFILE_FICLONE);
  }
  await fs.chmod(dest, st.mode & 0o7777);
  await fs.utimes(dest, st.atime, st.mtime);
}

/** The first entry at or under `src` that is no file, directory or link (a fifo, socket or device), never following a link. */
async function specialEntry(src: string): Promise<string | undefined> {
  const kind = await entryKind(src);
  if (kind === 'other') return src;
  if (kind !== 'dir') return undefined;
  for (const entry of await fs.readdir(src, { withFileTypes: true })) {
    const file = path.join(src, entry.name);
    if (entry.isDirectory()) {
      const found = await specialEntry(file);
      if (found) return found;
    } else if (!entry.isFile() && !entry.isSymbolicLink()) return file;
  }
  return undefined;
}

/** sha256 of the given parts; the cache key of a dependency install. */
export function hashKey(...parts: (string | Buffer)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
}

/**
 * A per-app dependency cache: one directory per kind ("node", "python"), keyed by a lockfile hash.
 * Only the newest key of each kind is kept, so the cache never grows past one copy per kind.
 * Beside each entry, `<entry>.origin` (written by paas, never by app code) records the path the
 * entry was saved from, which a restored virtualenv needs to relocate itself.
 */
export class DepCache {
  constructor(
    private readonly root: string,
    /** Who restored entries belong to: the app whose build they go into. */
    private readonly owner?: { uid: number; gid: number },
  ) {}

  private entry(kind: string, key: string): string {
    return path.join(this.root, `${kind}-${key}`);
  }

  /**
   * Copies the cached directory to `dest` and returns the path it was saved from; undefined when
   * there is no entry for this key (entries from before origins were recorded count as none).
   */
  async restore(kind: string, key: string, dest: string): Promise<string | undefined> {
    const src = this.entry(kind, key);
    const origin = await fs.readFile(`${src}.origin`, 'utf8').catch(() => undefined);
    if (origin === undefined || (await entryKind(src)) !== 'dir') return undefined;
    await fs.mkdir(dest, { recursive: true });
    // A link in the tree where the directory goes would take the copy elsewhere (cp follows it).
    if ((await entryKind(dest)) !== 'dir') {
      throw new BuildError(`${path.basename(dest)} in the app is not a directory (a link?), so paas cannot put its cache there. Remove it from the repository and push again.`);
    }
    // The entry holds only files, directories and links: saveMany made it so.
    await copy(src, dest);
    if (this.owner) await handOver(dest, this.owner);
    return origin;
  }

  /**
   * Saves `src` as the entry for this key (`origin`: the path the entry knows itself by), replacing
   * older entries of the same kind. App code ran before this, so `src` must still be a real
   * directory: a link there is refused, not followed.
   */
  async save(kind: string, key: string, src: string, origin = src, log: (line: string) => void = () => undefined): Promise<boolean> {
    if ((await entryKind(src)) !== 'dir') {
      throw new BuildError(`${path.basename(src)} is not a directory after the install (a build step replaced it); paas caches only a real directory. Leave it in place and push again.`);
    }
    return this.saveMany(kind, key, [{ src, rel: '' }], origin, log);
  }

  /**
   * Saves several paths (each `src`, a real file or directory, at `rel` inside the entry) as one
   * entry, replacing older entries of the same kind. False when it could not be copied (nothing saved).
   */
  async saveMany(kind: string, key: string, parts: { src: string; rel: string }[], origin: string, log: (line: string) => void = () => undefined): Promise<boolean> {
    await fs.mkdir(this.root, { recursive: true });
    const dest = this.entry(kind, key);
    const tmp = `${dest}.tmp-${process.pid}-${Date.now()}`;
    const named = parts.map((p) => p.rel || path.basename(p.src)).join(', ');
    try {
      for (const { src } of parts) {
        const odd = await specialEntry(src);
        if (odd) throw Object.assign(new Error(odd), { code: `${path.relative(path.dirname(src), odd)} is a fifo, socket or device` });
      }
      await fs.mkdir(tmp);
      for (const { src, rel } of parts) {
        await fs.mkdir(path.dirname(path.join(tmp, rel)), { recursive: true });
        await copy(src, path.join(tmp, rel));
      }
    } catch (err) {
      // What app code installed may hold what cannot be copied (a fifo, a socket): the build is
      // fine, it only goes uncached, and no partial copy is left behind.
      await fs.rm(tmp, { recursive: true, force: true });
      log(`-----> Not caching ${named}: ${excerpt(String((err as NodeJS.ErrnoException).code ?? 'it could not be copied'), 200)}. The next build installs again.`);
      return false;
    }
    for (const name of await fs.readdir(this.root)) {
      if (name.startsWith(`${kind}-`) && !name.includes('.tmp-')) await fs.rm(path.join(this.root, name), { recursive: true, force: true });
    }
    // A rename is atomic, so a concurrent restore sees either no entry or a whole one; the origin
    // comes last, and restore counts an entry without one as missing.
    await fs.rename(tmp, dest);
    await fs.writeFile(`${dest}.origin`, origin);
    return true;
  }

  /** What paas noted of the newest entry of `kind` (what it was made from), undefined when nothing is noted. */
  async note(kind: string): Promise<string | undefined> {
    return fs.readFile(path.join(this.root, `${kind}.note`), 'utf8').catch(() => undefined);
  }

  /** Notes what the entry of `kind` just saved was made from (paas's words, never app output). */
  async setNote(kind: string, text: string): Promise<void> {
    await fs.writeFile(path.join(this.root, `${kind}.note`), text);
  }
}

/**
 * `rel` under `tree`, with each directory on the way a real one (with `make`, made when missing,
 * for its owner): app code ran before and may have put a link there, which paas must never follow.
 * Undefined when one is not. Call it only while no process of the app runs.
 */
export async function treePath(tree: string, rel: string, make?: { owner?: { uid: number; gid: number } }): Promise<string | undefined> {
  const parts = rel.split('/').filter((p) => p && p !== '.');
  if (parts.length === 0 || parts.some((p) => p === '..')) return undefined;
  let dir = tree;
  for (const part of parts.slice(0, -1)) {
    dir = path.join(dir, part);
    const kind = await entryKind(dir);
    if (kind === undefined && make) {
      await fs.mkdir(dir);
      if (make.owner) await fs.lchown(dir, make.owner.uid, make.owner.gid);
    } else if (kind !== 'dir') return undefined;
  }
  return path.join(dir, parts.at(-1)!);
}

/** sha256 over the files at `rels` under `tree` (a directory: every file in it), links by their target, none followed. */
export async function hashTree(tree: string, rels: string[]): Promise<string> {
  const h = createHash('sha256');
  const walk = async (rel: string): Promise<void> => {
    const file = path.join(tree, rel);
    const kind = await entryKind(file);
    h.update(`${rel}\0${kind ?? 'none'}\0`);
    if (kind === 'link') h.update(await fs.readlink(file));
    else if (kind === 'file') h.update(await fs.readFile(file));
    else if (kind === 'dir') for (const name of (await fs.readdir(file)).sort()) await walk(path.posix.join(rel, name));
  };
  for (const rel of rels) await walk(rel.replace(/\/$/, '') || '.');
  return h.digest('hex').slice(0, 16);
}

/**
 * Saves the paths `rels` of `tree` that are there (files or directories, never links, reached
 * through real directories only) as the entry `kind`/`key`, replacing older ones; false when nothing was saved.
 */
export async function saveTree(cache: DepCache, kind: string, key: string, tree: string, rels: string[], log: (line: string) => void): Promise<boolean> {
  const parts: { src: string; rel: string }[] = [];
  for (const rel of rels) {
    const src = await treePath(tree, rel);
    const found = src ? await entryKind(src) : undefined;
    if (src && (found === 'dir' || found === 'file')) parts.push({ src, rel });
  }
  return parts.length > 0 && (await cache.saveMany(kind, key, parts, JSON.stringify(parts.map((p) => p.rel)), log));
}

/** Puts the entry `kind`/`key` that saveTree made back into `tree`, replacing what is there; returns what it restored, undefined when there is no entry. */
export async function restoreTree(cache: DepCache, kind: string, key: string, tree: string, owner?: { uid: number; gid: number }): Promise<string[] | undefined> {
  const work = await fs.mkdtemp(path.join(tree, '..', `.restore-${kind}-`));
  try {
    const saved = await cache.restore(kind, key, work);
    if (saved === undefined) return undefined;
    const rels = JSON.parse(saved) as string[];
    for (const rel of rels) {
      const dest = await treePath(tree, rel, { owner });
      if (!dest) return undefined;
      // rm never follows a link at `dest` itself: it removes the link.
      await fs.rm(dest, { recursive: true, force: true });
      await fs.rename(path.join(work, rel), dest);
    }
    return rels;
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}
