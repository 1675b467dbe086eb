import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StoreError } from '../../lib/errors.js';
import { migrations } from './migrations.js';

export type Db = Database.Database;

/** SQLite's error codes for a file that is not a database or is damaged. */
const CORRUPT_CODES = new Set(['SQLITE_NOTADB', 'SQLITE_CORRUPT']);

function describe(file: string, err: unknown): StoreError {
  const code = (err as { code?: string }).code ?? '';
  const what = CORRUPT_CODES.has(code) ? 'is corrupt or not a paas store' : `could not be read (${code || String(err)})`;
  return new StoreError(
    `The store ${file} ${what}. paas left it unchanged. Restore it from a backup, or move it away to start with an empty store.`,
  );
}

/**
 * Checks an existing store without writing to it: readable, intact, and not from a newer paas.
 * Done on a read-only handle so a damaged file is never touched. Returns its schema version.
 */
function inspect(file: string): number {
  let ro: Database.Database | undefined;
  try {
    ro = new Database(file, { readonly: true, fileMustExist: true });
    const version = ro.pragma('user_version', { simple: true }) as number;
    if (version > migrations.length) {
      throw new StoreError(
        `The store ${file} has schema version ${version}, but this paas knows only up to ${migrations.length}. ` +
          'It was written by a newer paas: upgrade paas, or point PAAS_DATA_DIR elsewhere. The store was left unchanged.',
      );
    }
    const check = ro.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw Object.assign(new Error(String(check)), { code: 'SQLITE_CORRUPT' });
    return version;
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw describe(file, err);
  } finally {
    ro?.close();
  }
}

function holdsFiles(dir: string): boolean {
  try {
    return fs.readdirSync(dir).length > 0;
  } catch {
    return false; // not there yet: a new data dir
  }
}

/**
 * SQLite takes a missing or 0-byte file as a new, empty database. Beside apps' repos and slugs that
 * means the store was lost, and starting anyway would forget every app (and a later apps:create
 * of an old name would wipe its repo), so refuse before anything is written.
 */
function refuseLostStore(file: string, version: number | undefined, appDataDirs: readonly string[]): void {
  if (version !== undefined && version > 0) return;
  const withData = appDataDirs.filter(holdsFiles);
  if (!withData.length) return;
  const state = version === undefined ? 'missing' : 'empty';
  throw new StoreError(
    `The store ${file} is ${state}, but ${path.dirname(file)} holds apps' data (${withData.map((d) => `${path.basename(d)}/`).join(', ')}). ` +
      `paas refused to start and changed nothing. Restore ${path.basename(file)} from a backup into ${path.dirname(file)}, ` +
      'or, to start clean and give up those apps, point PAAS_DATA_DIR at a new directory (or move this one away).',
  );
}

/**
 * Opens (creating if needed) the store at `file` and applies pending migrations in one transaction.
 * A missing or empty store is refused when any of `appDataDirs` holds files: the apps it knew are still there.
 */
export function openStore(file: string, appDataDirs: readonly string[] = []): Db {
  refuseLostStore(file, fs.existsSync(file) ? inspect(file) : undefined, appDataDirs);
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current < migrations.length) {
      db.transaction(() => {
        for (let v = current; v < migrations.length; v++) db.exec(migrations[v]);
        db.pragma(`user_version = ${migrations.length}`);
      })();
    }
    return db;
  } catch (err) {
    db.close();
    throw describe(file, err);
  }
}
