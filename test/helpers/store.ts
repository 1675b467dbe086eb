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

/** Where the app's web dyno listens, `host:port` (its app network's address, or 127.0.0.1). */
export function webDynoAddress(dataDir: string, app: string): string {
  return read(dataDir, (db) => {
    const row = db.prepare("SELECT dynos.host, dynos.port FROM dynos JOIN apps ON apps.id = dynos.app_id WHERE apps.name = ? AND dynos.process_type = 'web' ORDER BY dynos.started_at DESC").get(app) as { host: string; port: number } | undefined;
    if (!row) throw new Error(`${app} has no web dyno in the store`);
    return `${row.host}:${row.port}`;
  });
}

/** Every session row of the store, as stored. */
export function sessionRows(dataDir: string): Record<string, unknown>[] {
  return read(dataDir, (db) => db.prepare('SELECT * FROM sessions').all() as Record<string, unknown>[]);
}
