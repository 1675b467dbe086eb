import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/** sha256 of the given parts; the cache key of a dependency install. */
export function hashKey(...parts: (string | Buffer)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
}

/**
 * A per-app dependency cache: one directory per kind ("node", "python"), keyed by a lockfile hash.
 * Only the newest key of each kind is kept, so the cache never grows past one copy per kind.
 */
export class DepCache {
  constructor(private readonly root: string) {}

  private entry(kind: string, key: string): string {
    return path.join(this.root, `${kind}-${key}`);
  }

  /** Copies the cached directory to `dest`; false when there is no entry for this key. */
  async restore(kind: string, key: string, dest: string): Promise<boolean> {
    const src = this.entry(kind, key);
    try {
      await fs.access(src);
    } catch {
      return false;
    }
    await fs.cp(src, dest, { recursive: true, verbatimSymlinks: true });
    return true;
  }

  /** Saves `src` as the entry for this key, replacing older entries of the same kind. */
  async save(kind: string, key: string, src: string): Promise<void> {
    await fs.mkdir(this.root, { recursive: true });
    const dest = this.entry(kind, key);
    const tmp = `${dest}.tmp-${process.pid}-${Date.now()}`;
    await fs.cp(src, tmp, { recursive: true, verbatimSymlinks: true });
    for (const name of await fs.readdir(this.root)) {
      if (name.startsWith(`${kind}-`) && !name.includes('.tmp-')) await fs.rm(path.join(this.root, name), { recursive: true, force: true });
    }
    // A rename is atomic, so a concurrent restore sees either no entry or a whole one.
    await fs.rename(tmp, dest);
  }
}
