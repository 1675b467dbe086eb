import type { Db } from './db.js';

/** Where a certificate came from: uploaded with `certs:add`, or ordered from the ACME CA. */
export type CertSource = 'user' | 'acme';
/** `pending`: an ACME order not yet finished (no files); `failed`: its last order failed (see last_error). */
export type CertStatus = 'pending' | 'issued' | 'failed';

/** A certificate's row; its PEM files are in `<data>/certs/<id>/`. */
export interface CertRow {
  id: string;
  /** Null: the operator's default certificate. */
  app_id: number | null;
  /** JSON array of lower-case hostnames. */
  hostnames: string;
  source: CertSource;
  not_before: string | null;
  not_after: string | null;
  issuer: string;
  fingerprint: string;
  status: CertStatus;
  last_error: string | null;
  /** ACME: when renewal is due (or the next retry after a failure). */
  renew_at: string | null;
  /** Failed ACME orders in a row, for the retry's backoff. */
  attempts: number;
  created_at: string;
}

/** An app's HTTPS settings. `auto` null: the server's PAAS_ACME_DEFAULT decides. */
export interface TlsSettingsRow {
  auto: number | null;
  redirect: number;
  hsts_max_age: number;
}

/** The hostnames of a row, parsed. */
export function certHostnames(row: Pick<CertRow, 'hostnames'>): string[] {
  return JSON.parse(row.hostnames) as string[];
}

/** The app's certificates, oldest first. */
export function listCerts(db: Db, appId: number): CertRow[] {
  return db.prepare('SELECT * FROM certificates WHERE app_id = ? ORDER BY created_at, rowid').all(appId) as CertRow[];
}

/** Every certificate with files routers can serve, of every app (not the default: that lives in the settings). */
export function issuedCerts(db: Db): CertRow[] {
  return db.prepare("SELECT * FROM certificates WHERE app_id IS NOT NULL AND fingerprint <> '' ORDER BY created_at, rowid").all() as CertRow[];
}

export function findCert(db: Db, id: string): CertRow | undefined {
  return db.prepare('SELECT * FROM certificates WHERE id = ?').get(id) as CertRow | undefined;
}

/** Inserts or replaces a certificate row whole. */
export function putCert(db: Db, row: CertRow): void {
  db.prepare(
    `INSERT INTO certificates (id, app_id, hostnames, source, not_before, not_after, issuer, fingerprint, status, last_error, renew_at, attempts, created_at)
     VALUES (@id, @app_id, @hostnames, @source, @not_before, @not_after, @issuer, @fingerprint, @status, @last_error, @renew_at, @attempts, @created_at)
     ON CONFLICT(id) DO UPDATE SET hostnames = excluded.hostnames, not_before = excluded.not_before, not_after = excluded.not_after,
       issuer = excluded.issuer, fingerprint = excluded.fingerprint, status = excluded.status, last_error = excluded.last_error, renew_at = excluded.renew_at, attempts = excluded.attempts`,
  ).run(row);
}

/** Records a failed ACME order: its reason and when to try again; the certificate it replaces (if any) stays served. */
export function failCert(db: Db, id: string, error: string, retryAt: string): void {
  db.prepare("UPDATE certificates SET status = CASE WHEN fingerprint = '' THEN 'failed' ELSE status END, last_error = ?, renew_at = ?, attempts = attempts + 1 WHERE id = ?").run(error, retryAt, id);
}

export function deleteCert(db: Db, id: string): boolean {
  return db.prepare('DELETE FROM certificates WHERE id = ?').run(id).changes === 1;
}

/** The app's HTTPS settings, defaults when it never changed them. */
export function tlsSettings(db: Db, appId: number): TlsSettingsRow {
  const row = db.prepare('SELECT auto, redirect, hsts_max_age FROM app_tls WHERE app_id = ?').get(appId) as TlsSettingsRow | undefined;
  return row ?? { auto: null, redirect: 1, hsts_max_age: 0 };
}

/** Changes some of the app's HTTPS settings. */
export function updateTlsSettings(db: Db, appId: number, patch: Partial<TlsSettingsRow>): TlsSettingsRow {
  const next = { ...tlsSettings(db, appId), ...patch };
  db.prepare(
    `INSERT INTO app_tls (app_id, auto, redirect, hsts_max_age) VALUES (?, ?, ?, ?)
     ON CONFLICT(app_id) DO UPDATE SET auto = excluded.auto, redirect = excluded.redirect, hsts_max_age = excluded.hsts_max_age`,
  ).run(appId, next.auto, next.redirect, next.hsts_max_age);
  return next;
}
