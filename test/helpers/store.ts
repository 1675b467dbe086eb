// Reads a server's store directly, read-only, for what the API does not show (builds) or to see it
// as a killed server left it. SQLite in WAL mode lets this read while a server writes.
import path from 'node:path';
import Database from 'better-sqlite3';

function read<T>(dataDir: string, fn: (db: Database.Database) => T): T {
  const db = new Database(path.join(dataDir, 'paas.db'), { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** The status of every build (oldest first) and release (by version). */
export function statuses(dataDir: string): { builds: string[]; releases: string[] } {
  return read(dataDir, (db) => {
    const col = (sql: string) => (db.prepare(sql).all() as { status: string }[]).map((r) => r.status);
    return { builds: col('SELECT status FROM builds ORDER BY created_at'), releases: col('SELECT status FROM releases ORDER BY version') };
  });
}

/** The dyno rows of the store: `web.1 up`, `release.1 up`, … sorted. */
export function dynoRows(dataDir: string): string[] {
  return read(dataDir, (db) =>
    (db.prepare('SELECT process_type, number, state FROM dynos').all() as { process_type: string; number: number; state: string }[])
      .map((d) => `${d.process_type}.${d.number} ${d.state}`)
      .sort(),
  );
}
