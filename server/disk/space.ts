import fs from 'node:fs';
import { formatBytes } from '../../lib/bytes.js';
import { InsufficientStorageError } from '../../lib/errors.js';

/**
 * Free space on the data dir's file system, and the errors that say it ran out. A full disk must
 * read as "the data dir is full", not as an internal error or git's "unpacker error".
 */

/** What a release without a build (config:set, rollback, an add-on attached) needs free at least: its row and its output. */
export const RELEASE_MIN_FREE = 16 * 1024 ** 2;

/** Bytes an unprivileged user may still write on the file system that holds `dir`. */
export function freeBytes(dir: string): number {
  const s = fs.statfsSync(dir);
  return Number(s.bavail) * Number(s.bsize);
}

/**
 * Whether `err` (or what caused it) is the file system saying it is full: ENOSPC and EDQUOT from
 * our own writes, SQLITE_FULL from the store, or a tool's "No space left on device" in a message.
 */
export function isNoSpace(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL') return true;
    if (typeof message === 'string' && /ENOSPC|No space left on device|database or disk is full/i.test(message)) return true;
  }
  return false;
}

/** The 507 for a full data dir, naming it and what is free now; `what` says what was not done. */
export function storageError(dataDir: string, what: string): InsufficientStorageError {
  let free = 'unknown';
  try {
    free = formatBytes(freeBytes(dataDir));
  } catch {
    // The message is what matters; a data dir we cannot stat still gets it.
  }
  return new InsufficientStorageError(`The data dir ${dataDir} is full (${free} free): ${what}. Free space (run \`paas gc\`, or remove files from that file system) and try again.`);
}

/**
 * Why the data dir cannot take a new build or release now (less than `minBytes` free), or
 * undefined when it can. `what` ends the sentence: "this push was not applied".
 */
export function spaceProblem(dataDir: string, minBytes: number, what: string): InsufficientStorageError | undefined {
  let free: number;
  try {
    free = freeBytes(dataDir);
  } catch {
    return undefined; // statfs failing is no reason to refuse work; the write itself will tell
  }
  if (free >= minBytes) return undefined;
  return storageError(dataDir, `${what} (paas needs ${formatBytes(minBytes)} free to start it, PAAS_MIN_FREE_DISK)`);
}

/** The error to show for `err`: a storage error when the disk filled up, else `err` itself. */
export function asStorageError(err: unknown, dataDir: string, what: string): unknown {
  return isNoSpace(err) ? storageError(dataDir, what) : err;
}
