import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { BuildError } from './errors.js';
import { entryKind, handOver } from './safe-fs.js';

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
    // verbatimSymlinks: links inside the entry are copied as links, never followed.
    await fs.cp(src, dest, { recursive: true, verbatimSymlinks: true });
    if (this.owner) await handOver(dest, this.owner);
    return origin;
  }

  /**
   * Saves `src` as the entry for this key (`origin`: the path the entry knows itself by), replacing
   * older entries of the same kind. App code ran before this, so `src` must still be a real
   * directory: a link there is refused, not followed.
   */
  async save(kind: string, key: string, src: string, origin = src, log: (line: string) => void = () => undefined): Promise<void> {
    if ((await entryKind(src)) !== 'dir') {
      throw new BuildError(`${path.basename(src)} is not a directory after the install (a build step replaced it); paas caches only a real directory. Leave it in place and push again.`);
    }
    await fs.mkdir(this.root, { recursive: true });
    const dest = this.entry(kind, key);
    const tmp = `${dest}.tmp-${process.pid}-${Date.now()}`;
    try {
      await fs.cp(src, tmp, { recursive: true, verbatimSymlinks: true });
    } catch (err) {
      // What app code installed may hold what cannot be copied (a fifo, a socket): the build is
      // fine, it only goes uncached, and no partial copy is left behind.
      await fs.rm(tmp, { recursive: true, force: true });
      log(`-----> Not caching ${path.basename(src)}: ${(err as NodeJS.ErrnoException).code ?? 'it could not be copied'} (it holds a fifo, socket or device). The next build installs again.`);
      return;
    }
    for (const name of await fs.readdir(this.root)) {
      if (name.startsWith(`${kind}-`) && !name.includes('.tmp-')) await fs.rm(path.join(this.root, name), { recursive: true, force: true });
    }
    // A rename is atomic, so a concurrent restore sees either no entry or a whole one; the origin
    // comes last, and restore counts an entry without one as missing.
    await fs.rename(tmp, dest);
    await fs.writeFile(`${dest}.origin`, origin);
  }
}
