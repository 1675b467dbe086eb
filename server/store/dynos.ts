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
}

export function insertDyno(db: Db, d: DynoRow): void {
  db.prepare(
    `INSERT INTO dynos (id, app_id, release_id, process_type, number, host, port, state, started_at)
     VALUES (@id, @app_id, @release_id, @process_type, @number, @host, @port, @state, @started_at)`,
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

/** Dyno rows outlive a server that died; the processes did not. Called once at start-up. */
export function clearDynos(db: Db): void {
  db.prepare('DELETE FROM dynos').run();
}
