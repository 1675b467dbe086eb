// Link-safe access to an app's tree. App code (install and build scripts) may rewrite its tree after
// the unpack check, so every read or write the platform makes there goes through these helpers:
// they never follow a symbolic link at the last component, and never echo a file's content.
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { BuildError } from './errors.js';

/** The largest control file (Procfile, package.json, requirements.txt) the builder reads. */
export const CONTROL_FILE_MAX = 1024 * 1024;

const NOFOLLOW_READ = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * What sits at `file`, without following a link there: 'file', 'dir', 'link', 'other' (fifo,
 * socket, device) or undefined when nothing does.
 */
export async function entryKind(file: string): Promise<'file' | 'dir' | 'link' | 'other' | undefined> {
  try {
    const st = await fs.lstat(file);
    if (st.isSymbolicLink()) return 'link';
    return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** True when something (a file, a directory or a link, followed or not) sits at `file`. */
export async function present(file: string): Promise<boolean> {
  return (await entryKind(file)) !== undefined;
}

const KIND_WORDS = { dir: 'a directory', link: 'a symbolic link', other: 'a special file (fifo, socket or device)' };

/**
 * Reads a file of the app's tree, which must be a regular file of at most `max` bytes, without
 * following links. Returns undefined when it does not exist. `name` is how the pusher knows it
 * (e.g. "Procfile"); errors name it and say what is wrong, never what it contains.
 */
export async function readTreeFile(dir: string, name: string, max = CONTROL_FILE_MAX): Promise<Buffer | undefined> {
  let handle: fs.FileHandle;
  try {
    // O_NONBLOCK: a fifo put there by app code must not hang the build before fstat refuses it.
    handle = await fs.open(path.join(dir, name), NOFOLLOW_READ);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw notRegular(name, 'link');
    throw err;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw notRegular(name, st.isDirectory() ? 'dir' : 'other');
    if (st.size > max) throw new BuildError(`${name} is ${st.size} bytes; paas reads at most ${max}. Make it smaller and push again.`);
    const buf = Buffer.alloc(st.size);
    const { bytesRead } = await handle.read(buf, 0, st.size, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function notRegular(name: string, kind: keyof typeof KIND_WORDS): BuildError {
  return new BuildError(`${name} is ${KIND_WORDS[kind]}; paas only reads it as a regular file. Commit it as a plain file and push again.`);
}

/**
 * Rewrites a regular file of the tree in place without following a link at its name. The caller
 * has checked it with entryKind; O_NOFOLLOW closes the gap if it has changed since.
 */
export async function rewriteTreeFile(file: string, data: string | Buffer): Promise<void> {
  const handle = await fs.open(file, constants.O_WRONLY | constants.O_TRUNC | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    if (!(await handle.stat()).isFile()) throw new BuildError(`${path.basename(file)} changed into a special file during the build.`);
    await handle.writeFile(data);
  } finally {
    await handle.close();
  }
}

/**
 * A short, printable excerpt of untrusted text for an error message: control characters become
 * `?`, and anything past `max` characters is cut, so no file ever appears in full.
 */
export function excerpt(text: string, max = 24): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/**
 * Gives a tree to `owner`, link by link: lchown never follows a symbolic link, and a directory is
 * entered only when lstat says it is a real one. Call it only while no process of the app runs, so
 * nothing can swap a directory for a link between the check and the chown.
 */
export async function handOver(dir: string, owner: { uid: number; gid: number }): Promise<void> {
  const stat = await fs.lstat(dir);
  await fs.lchown(dir, owner.uid, owner.gid);
  if (!stat.isDirectory()) return;
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) await handOver(file, owner);
    else await fs.lchown(file, owner.uid, owner.gid);
  }
}
