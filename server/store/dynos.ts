import type { Db } from './db.js';

export type DynoState = 'starting' | 'up' | 'crashed' | 'stopping';

/** One dyno of a running server: what `paas ps` shows, and what a restarted server must stop. */
export interface DynoRow {
  id: string;
  app_id: number;
  release_id: number;
  process_type: string;
  number: number;
  host: string;
  port: number | null;
  state: DynoState;
  started_at: string;
  /** The runtime's own reference (process runtime: the process group id). */
  handle: string | null;
  restarts: number;
}

export function insertDyno(db: Db, d: DynoRow): void {
  db.prepare(
    `INSERT INTO dynos (id, app_id, release_id, process_type, number, host, port, state, started_at, handle, restarts)
     VALUES (@id, @app_id, @release_id, @process_type, @number, @host, @port, @state, @started_at, @handle, @restarts)`,
  ).run(d);
}

export function setDynoState(db: Db, id: string, state: DynoState): void {
  db.prepare('UPDATE dynos SET state = ? WHERE id = ?').run(state, id);
}

export function setDynoRestarts(db: Db, id: string, restarts: number): void {
  db.prepare('UPDATE dynos SET restarts = ? WHERE id = ?').run(restarts, id);
}

export function deleteDyno(db: Db, id: string): void {
  db.prepare('DELETE FROM dynos WHERE id = ?').run(id);
}

/** The app's dynos with their release's version, for `paas ps`. One-off release-phase dynos included. */
export function listDynos(db: Db, appId: number): (DynoRow & { version: number })[] {
  return db
    .prepare(
      `SELECT dynos.*, releases.version AS version FROM dynos JOIN releases ON releases.id = dynos.release_id
       WHERE dynos.app_id = ? ORDER BY dynos.process_type, dynos.number, dynos.started_at`,
    )
    .all(appId) as (DynoRow & { version: number })[];
}

/** A dyno row a previous server left, with what adopting or stopping it needs. */
export interface StaleDyno {
  app: string;
  app_id: number;
  handle: string | null;
  release_id: number;
  process_type: string;
  number: number;
  state: DynoState;
  restarts: number;
  /** Whether its release is still the app's current one. */
  current: boolean;
}

/**
 * Takes every dyno row with its app's name: at start-up these are leftovers of the previous run,
 * which the runtime adopts (Docker) or stops, after the rows are cleared.
 */
export function takeStaleDynos(db: Db): StaleDyno[] {
  return db.transaction(() => {
    const rows = db
      .prepare(
        `SELECT apps.name AS app, dynos.app_id, dynos.handle, dynos.release_id, dynos.process_type, dynos.number, dynos.state, dynos.restarts,
                (apps.current_release_id IS dynos.release_id) AS current
         FROM dynos JOIN apps ON apps.id = dynos.app_id`,
      )
      .all() as (Omit<StaleDyno, 'current'> & { current: number })[];
    db.prepare('DELETE FROM dynos').run();
    return rows.map((r) => ({ ...r, current: r.current === 1 }));
  })();
}

/** Which leftover dynos a persistent runtime may adopt: up, of the current release, in the formation's types. */
export function adoptable(rows: StaleDyno[]): StaleDyno[] {
  // A one-off run (release phase, `paas run`) ended with the server that ran it: no client is attached any more.
  return rows.filter((r) => r.current && r.state === 'up' && r.process_type !== 'release' && r.process_type !== 'run' && r.handle);
}
