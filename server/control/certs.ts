import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Cert, Certs } from '../../lib/api-types.js';
import type { Deps } from './deps.js';
import { InvalidParamsError, NotFoundError } from '../../lib/errors.js';
import type { TlsCertificate } from '../../router/protocol.js';
import type { AppRow } from '../store/apps.js';
import { type CertRow, certHostnames, deleteCert, issuedCerts, listCerts as listCertRows, putCert, tlsSettings, updateTlsSettings } from '../store/certs.js';
import { listDomains } from '../store/domains.js';
import { CertificateError, certFiles, covers, inspectCertificate, loadCertFiles, saveCertFiles } from '../tls/pem.js';
import { normalizeHostname } from './hostnames.js';
import { requireApp } from './queries.js';

/** A certificate, and an app's HTTPS settings with its certificates, as the API shows them: the shapes its clients read. */
export type CertView = Cert;
export type CertsView = Certs;

/**
 * When an ACME certificate is next ordered: after a failure, the retry's time; else PAAS_ACME_RENEW_BEFORE
 * before it expires, as the setting is now (a changed setting applies to certificates already issued).
 */
export function renewalDue(row: CertRow, renewBeforeMs: number): string | null {
  if (row.source !== 'acme') return null;
  if (row.last_error || !row.not_after) return row.renew_at;
  return new Date(new Date(row.not_after).getTime() - renewBeforeMs).toISOString();
}

function view(row: CertRow, renewBeforeMs: number): CertView {
  const { id, source, status, issuer, not_before, not_after, fingerprint, last_error } = row;
  return { id, hostnames: certHostnames(row), source, status, issuer, not_before, not_after, renew_at: renewalDue(row, renewBeforeMs), fingerprint, last_error };
}

/** Whether the app gets automatic certificates: its own choice, else the server's PAAS_ACME_DEFAULT. */
export function autoEnabled(deps: Pick<Deps, 'db' | 'config'>, app: AppRow): boolean {
  const { auto } = tlsSettings(deps.db, app.id);
  return auto === null ? deps.config.tls.acmeDefault : auto === 1;
}

/** The hostnames an app answers at: `<app>.<PAAS_DOMAIN>` and its custom domains. */
function appHostnames(deps: Pick<Deps, 'db' | 'config'>, app: AppRow): string[] {
  return [`${app.name}.${deps.config.domain}`, ...listDomains(deps.db, app.id).map((d) => d.hostname)];
}

/** The operator's default certificate (PAAS_TLS_CERT_FILE), read again at each publish so a renewed file is picked up. */
function defaultCertificate(deps: Pick<Deps, 'config'>, log: (line: string) => void): TlsCertificate | undefined {
  const files = deps.config.tls.defaultCert;
  if (!files) return undefined;
  try {
    const info = inspectCertificate(fs.readFileSync(files.certFile, 'utf8'), fs.readFileSync(files.keyFile, 'utf8'));
    return { id: 'default', hostnames: info.hostnames, cert: info.cert, key: info.key };
  } catch (err) {
    log(`warning: the default certificate (PAAS_TLS_CERT_FILE) is not served: ${(err as Error).message}`);
    return undefined;
  }
}

/** Tells routers every certificate they serve now: the default, then every app's issued ones. */
export function publishCerts(deps: Pick<Deps, 'db' | 'config' | 'paths' | 'routes'>, log: (line: string) => void = console.log): void {
  const certs: TlsCertificate[] = [];
  const fallback = defaultCertificate(deps, log);
  if (fallback) certs.push(fallback);
  for (const row of issuedCerts(deps.db)) {
    const pem = loadCertFiles(deps.paths.certs, row.id);
    if (pem) certs.push({ id: row.id, hostnames: certHostnames(row), ...pem });
  }
  deps.routes.setCerts(certs);
}

/** At start-up: every app's HTTPS settings and every certificate, into the route table. */
export function restoreTls(deps: Pick<Deps, 'db' | 'config' | 'paths' | 'routes'>, apps: readonly AppRow[], log: (line: string) => void): void {
  for (const app of apps) deps.routes.setTls(app.name, tlsRoute(deps.db, app));
  publishCerts(deps, log);
}

/** What routers do for the app over HTTPS: redirect and HSTS, from its settings. */
export function tlsRoute(db: Deps['db'], app: AppRow): { redirect: boolean; hstsMaxAge?: number } {
  const s = tlsSettings(db, app.id);
  return { redirect: s.redirect === 1, ...(s.hsts_max_age > 0 ? { hstsMaxAge: s.hsts_max_age } : {}) };
}

/** The app's HTTPS settings and certificates. */
export function listCerts(params: { app: string }, deps: Deps): CertsView {
  const app = requireApp(deps, params.app);
  const s = tlsSettings(deps.db, app.id);
  return { auto: autoEnabled(deps, app), redirect: s.redirect === 1, hsts_max_age: s.hsts_max_age, certificates: listCertRows(deps.db, app.id).map((r) => view(r, deps.config.tls.renewBeforeMs)) };
}

/** Records a certificate and its files (0600) and publishes it; used by uploads and by ACME orders. */
export function storeCertificate(deps: Deps, app: AppRow, pem: { cert: string; key: string }, source: CertRow['source'], opts: { id?: string } = {}): CertRow {
  const info = inspectCertificate(pem.cert, pem.key);
  const id = opts.id ?? `cert-${crypto.randomBytes(4).toString('hex')}`;
  saveCertFiles(deps.paths.certs, id, info.cert, info.key);
  const row: CertRow = {
    id,
    app_id: app.id,
    hostnames: JSON.stringify(info.hostnames),
    source,
    not_before: info.notBefore.toISOString(),
    not_after: info.notAfter.toISOString(),
    issuer: info.issuer,
    fingerprint: info.fingerprint,
    status: 'issued',
    last_error: null,
    renew_at: null,
    attempts: 0,
    created_at: new Date().toISOString(),
  };
  putCert(deps.db, row);
  publishCerts(deps);
  return row;
}

/** Uploads a certificate (`paas certs:add CERT_FILE KEY_FILE`): it must be valid, match its key and cover a hostname of the app. */
export function addCert(params: { app: string; cert: unknown; key: unknown }, deps: Deps): CertView {
  const app = requireApp(deps, params.app);
  const info = inspectCertificate(params.cert, params.key);
  const hostnames = appHostnames(deps, app);
  if (!hostnames.some((h) => covers(info.hostnames, h))) {
    throw new CertificateError(
      'cert_hostname_mismatch',
      `The certificate is for ${info.hostnames.join(', ') || 'no hostname'}, none of which ${app.name} answers at (${hostnames.join(', ')}). Add the domain first with \`paas domains:add HOSTNAME -a ${app.name}\`, or give the certificate for one of these.`,
    );
  }
  return view(storeCertificate(deps, app, { cert: info.cert, key: info.key }, 'user'), deps.config.tls.renewBeforeMs);
}

/** Removes a certificate by id or by a hostname it covers; routers stop serving it. */
export function removeCert(params: { app: string; target: string }, deps: Deps): CertView {
  const app = requireApp(deps, params.app);
  const rows = listCertRows(deps.db, app.id);
  const host = normalizeHostname(params.target);
  const row = rows.find((r) => r.id === params.target) ?? rows.find((r) => certHostnames(r).includes(host));
  if (!row) {
    throw new NotFoundError(`${app.name} has no certificate ${params.target}. Run \`paas certs -a ${app.name}\` to list its certificates (by id and hostnames).`);
  }
  deleteCert(deps.db, row.id);
  fs.rmSync(certFiles(deps.paths.certs, row.id).dir, { recursive: true, force: true });
  publishCerts(deps);
  return view(row, deps.config.tls.renewBeforeMs);
}

/**
 * Before an app's row goes (its certificate rows go with the cascade): removes its certificates'
 * files; `publish` then tells routers the set without them.
 */
export function forgetAppCerts(deps: Deps, app: AppRow): { publish(): void } {
  for (const row of listCertRows(deps.db, app.id)) fs.rmSync(certFiles(deps.paths.certs, row.id).dir, { recursive: true, force: true });
  return { publish: () => publishCerts(deps) };
}

/**
 * Changes the app's HTTPS settings: automatic certificates (`auto`, an order starts soon when turned
 * on), HTTP → HTTPS redirects, HSTS (`hsts_max_age` 0: off). Routers get the change at once.
 */
export function updateTls(params: { app: string; changes: unknown }, deps: Deps): CertsView {
  const app = requireApp(deps, params.app);
  const changes = (typeof params.changes === 'object' && params.changes !== null ? params.changes : {}) as { auto?: unknown; redirect?: unknown; hsts_max_age?: unknown };
  const unknown = Object.keys(changes).filter((k) => !['auto', 'redirect', 'hsts_max_age'].includes(k));
  if (unknown.length || !Object.keys(changes).length) {
    throw new InvalidParamsError(`Send one or more of {"auto": true|false, "redirect": true|false, "hsts_max_age": SECONDS}${unknown.length ? ` (not ${unknown.join(', ')})` : ''}.`);
  }
  const patch: { auto?: number; redirect?: number; hsts_max_age?: number } = {};
  if (changes.auto !== undefined) {
    if (typeof changes.auto !== 'boolean') throw new InvalidParamsError('auto must be true or false (paas certs:auto:enable / certs:auto:disable).');
    patch.auto = changes.auto ? 1 : 0;
  }
  const given = { redirect: changes.redirect, hstsMaxAge: changes.hsts_max_age };
  if (given.redirect !== undefined) {
    if (typeof given.redirect !== 'boolean') throw new InvalidParamsError('redirect must be true or false (paas certs:redirect on|off).');
    patch.redirect = given.redirect ? 1 : 0;
  }
  if (given.hstsMaxAge !== undefined) {
    const n = given.hstsMaxAge;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 2 ** 31) {
      throw new InvalidParamsError('hsts_max_age must be a whole number of seconds (0 turns HSTS off; a year is 31536000).');
    }
    patch.hsts_max_age = n;
  }
  updateTlsSettings(deps.db, app.id, patch);
  deps.routes.setTls(app.name, tlsRoute(deps.db, app));
  if (patch.auto === 1) deps.certOrders.wake();
  return listCerts(params, deps);
}
