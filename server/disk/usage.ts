import fs from 'node:fs';
import path from 'node:path';

/**
 * Disk use as `du` counts it: allocated blocks, no symlink followed. In `freed` mode (one whole
 * `paas gc` shares one Usage) a hard-linked file counts only once every link of it was measured:
 * removing one of two links frees nothing. In `used` mode (paas status) each inode counts once.
 */
export class Usage {
  /** Per inode (dev:ino), how many of its links were seen so far. */
  private readonly links = new Map<string, number>();

  constructor(private readonly mode: 'freed' | 'used' = 'freed') {}

  /** The bytes under `target` (a file or a whole tree), given all this Usage measured before. */
  async measure(target: string): Promise<number> {
    let st: fs.Stats;
    try {
      st = await fs.promises.lstat(target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    let bytes = this.count(st);
    if (st.isDirectory()) {
      // Gone meanwhile, or not ours to read: what we cannot see we do not claim.
      const names = await fs.promises.readdir(target).catch(() => [] as string[]);
      for (const name of names) bytes += await this.measure(path.join(target, name));
    }
    return bytes;
  }

  private count(st: fs.Stats): number {
    const size = Number(st.blocks) * 512;
    if (st.isDirectory() || st.nlink <= 1) return size;
    const key = `${st.dev}:${st.ino}`;
    const seen = (this.links.get(key) ?? 0) + 1;
    this.links.set(key, seen);
    // `freed`: the blocks go with the last link, so they count when that one is measured.
    return (this.mode === 'used' ? seen === 1 : seen === st.nlink) ? size : 0;
  }
}

/** The names in `dir`, or none when it does not exist (yet). */
export async function entries(dir: string): Promise<string[]> {
  try {
    return await fs.promises.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
