import type { Db } from './db.js';

/** A dashboard session as stored: never its id, only the id's hash (see migration 11). */
export interface SessionRow {
  id_hash: string;
  token_fingerprint: string;
  created_at: string;
  expires_at: string;
}

export function insertSession(db: Db, row: SessionRow): void {
  db.prepare('INSERT INTO sessions (id_hash, token_fingerprint, created_at, expires_at) VALUES (?, ?, ?, ?)').run(row.id_hash, row.token_fingerprint, row.created_at, row.expires_at);
}

export function findSession(db: Db, idHash: string): SessionRow | undefined {
  return db.prepare('SELECT * FROM sessions WHERE id_hash = ?').get(idHash) as SessionRow | undefined;
}

export function deleteSession(db: Db, idHash: string): boolean {
  return db.prepare('DELETE FROM sessions WHERE id_hash = ?').run(idHash).changes === 1;
}

/** Removes the sessions that expired by `now` (ISO time, which sorts as text); returns how many. */
export function deleteExpiredSessions(db: Db, now: string): number {
  return db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(now).changes;
}
