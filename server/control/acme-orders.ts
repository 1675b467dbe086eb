import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Deps } from './deps.js';
import { type AppRow, listApps } from '../store/apps.js';
import { type CertRow, certHostnames, deleteCert, failCert, listCerts, putCert } from '../store/certs.js';
import { listDomains } from '../store/domains.js';
import { acmeReason } from '../tls/acme.js';
import { certFiles, covers } from '../tls/pem.js';
import { autoEnabled, publishCerts, renewalDue, storeCertificate } from './certs.js';

/** The longest wait between retries of a failed order. */
const MAX_RETRY_MS = 86_400_000;

/** The custom domains an automatic certificate should cover: not wildcards (HTTP-01 and TLS-ALPN-01 cannot prove those), not those an uploaded certificate serves. */
function wantedHostnames(deps: Deps, app: AppRow, rows: CertRow[], now: Date): string[] {
  const uploaded = rows.filter((r) => r.source === 'user' && r.not_after && new Date(r.not_after) > now).flatMap(certHostnames);
  return listDomains(deps.db, app.id)
    .map((d) => d.hostname)
    .filter((h) => !h.startsWith('*.') && !covers(uploaded, h))
    .sort();
}

const sameSet = (a: string[], b: string[]) => a.length === b.length && [...a].sort().every((h, i) => h === b[i]);

/**
 * Automatic certificates (ACME): one per app, for its custom domains, ordered when auto-certs are on
 * and it has none or the domains changed, renewed PAAS_ACME_RENEW_BEFORE before expiry. Runs on a
 * timer (PAAS_ACME_CHECK_INTERVAL) and when woken (certs:auto:enable, domains:add); one run at a time.
 * A failed order keeps the certificate it would replace, is named in `paas certs` and the app's log
 * with the CA's reason, and is retried after PAAS_ACME_RETRY, doubling each time up to a day.
 */
export class AcmeOrders {
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: () => Deps,
    private readonly log: (line: string) => void,
  ) {}

  /** Checks every app on the timer from now on (the first check right away: renewals due while the server was down). */
  start(): void {
    this.wake();
    this.timer = setInterval(() => this.wake(), this.deps().config.tls.checkIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Runs a check soon; while one runs, another follows it (the change may have come too late for it). */
  wake(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.checkAll()
      .catch((err: Error) => this.log(`Automatic certificates: the check failed (${err.message}); the next one tries again.`))
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.deps().lifecycle.draining) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Resolves once no check is running (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async checkAll(): Promise<void> {
    const deps = this.deps();
    for (const app of listApps(deps.db)) {
      if (deps.lifecycle.draining) return;
      await this.checkApp(deps, app);
    }
  }

  private async checkApp(deps: Deps, app: AppRow): Promise<void> {
    const now = new Date();
    const rows = listCerts(deps.db, app.id);
    const current = rows.find((r) => r.source === 'acme');
    if (!autoEnabled(deps, app)) return; // an ordered certificate stays served until it expires or is removed
    const wanted = wantedHostnames(deps, app, rows, now);
    if (!wanted.length) {
      if (current) this.drop(deps, current);
      return;
    }
    const same = current !== undefined && sameSet(certHostnames(current), wanted);
    // Not due yet, or a failed order's retry is not yet due (whatever changed since: the CA's rate limits count).
    const due = current && renewalDue(current, deps.config.tls.renewBeforeMs);
    if (due && new Date(due) > now && (same || current.last_error)) return;
    const id = current?.id ?? `acme-${crypto.randomBytes(4).toString('hex')}`;
    if (!current) {
      putCert(deps.db, { id, app_id: app.id, hostnames: JSON.stringify(wanted), source: 'acme', not_before: null, not_after: null, issuer: '', fingerprint: '', status: 'pending', last_error: null, renew_at: null, attempts: 0, created_at: now.toISOString() });
    }
    const what = current?.fingerprint && same ? 'Renewing' : 'Ordering';
    deps.logs.append(app.name, 'paas[acme]', `${what} a certificate for ${wanted.join(', ')} from ${deps.config.tls.acmeDirectory}`);
    try {
      const issued = await deps.issuer.order(wanted);
      const row = storeCertificate(deps, app, issued, 'acme', { id });
      const renewAt = renewalDue(row, deps.config.tls.renewBeforeMs);
      putCert(deps.db, { ...row, hostnames: JSON.stringify(wanted) });
      const line = `Issued a certificate for ${wanted.join(', ')} (${issued.challenge}), valid until ${row.not_after}; renews about ${renewAt}`;
      deps.logs.append(app.name, 'paas[acme]', line);
      this.log(`${app.name}: ${line}`);
    } catch (err) {
      const attempts = current?.attempts ?? 0;
      const retryMs = Math.min(deps.config.tls.retryMs * 2 ** attempts, MAX_RETRY_MS);
      const retryAt = new Date(Date.now() + retryMs).toISOString();
      const reason = acmeReason(err);
      failCert(deps.db, id, reason, retryAt);
      const line = `The certificate order for ${wanted.join(', ')} failed: ${reason}. paas tries again at ${retryAt}; check that the domains' DNS points at this server and that port 80 (or the TLS port) is reachable.`;
      deps.logs.append(app.name, 'paas[acme]', line);
      this.log(`${app.name}: ${line}`);
    }
  }

  /** The app has no domain left to certify: its automatic certificate goes. */
  private drop(deps: Deps, row: CertRow): void {
    deleteCert(deps.db, row.id);
    fs.rmSync(certFiles(deps.paths.certs, row.id).dir, { recursive: true, force: true });
    publishCerts(deps);
  }
}
