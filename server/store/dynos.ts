import type { Db } from './db.js';

export interface DynoRow {
  id: string;
  app_id: number;
  release_id: number;
  process_type: string;
  number: number;
  host: string;
  port: number | null;
  state: 'starting' | 'up' | 'stopping';
  started_at: string;
  /** The runtime's own reference (process runtime: the process group id). */
  handle: string | null;
}

export function insertDyno(db: Db, d: DynoRow): void {
  db.prepare(
    `INSERT INTO dynos (id, app_id, release_id, process_type, number, host, port, state, started_at, handle)
     VALUES (@id, @app_id, @release_id, @process_type, @number, @host, @port, @state, @started_at, @handle)`,
  ).run(d);
}

export function setDynoState(db: Db, id: string, state: DynoRow['state']): void {
  db.prepare('UPDATE dynos SET state = ? WHERE id = ?').run(state, id);
}

export function deleteDyno(db: Db, id: string): void {
  db.prepare('DELETE FROM dynos WHERE id = ?').run(id);
}

export function listDynos(db: Db, appId: number): DynoRow[] {
  return db.prepare('SELECT * FROM dynos WHERE app_id = ? ORDER BY process_type, number').all(appId) as DynoRow[];
}

/**
 * Takes every dyno row with its app's name: at start-up these are leftovers of the previous run,
 * which the runtime stops before the rows are cleared.
 */
export function takeStaleDynos(db: Db): { app: string; handle: string | null }[] {
  return db.transaction(() => {
    const rows = db.prepare('SELECT apps.name AS app, dynos.handle AS handle FROM dynos JOIN apps ON apps.id = dynos.app_id').all() as {
      app: string;
      handle: string | null;
    }[];
    db.prepare('DELETE FROM dynos').run();
    return rows;
  })();
}
