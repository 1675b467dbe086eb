import type { Command } from 'commander';
import { api } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';
import { json, out } from '../../output.js';
import type { Cert, Certs } from '../../types.js';

const day = (iso: string | null) => (iso ? iso.slice(0, 10) : '?');

/** How a certificate renews, in words: "ACME, renews about 2026-05-01", "uploaded, expires 2026-06-01". */
export function renewal(c: Cert): string {
  if (c.source === 'user') return `uploaded, expires ${day(c.not_after)}`;
  if (c.status === 'pending') return 'ACME, being ordered';
  if (c.last_error) return `ACME, last order failed (${c.last_error}); tries again about ${day(c.renew_at)}`;
  return `ACME, renews about ${day(c.renew_at)}`;
}

/** What `paas certs` and the settings commands print about an app's HTTPS. */
export function printCerts(app: string, certs: Certs): void {
  const hsts = certs.hsts_max_age > 0 ? `on (max-age ${certs.hsts_max_age})` : 'off';
  out(`${app}: automatic certificates ${certs.auto ? 'on' : 'off'}; HTTP → HTTPS redirect ${certs.redirect ? 'on' : 'off'}; HSTS ${hsts}`);
  if (!certs.certificates.length) {
    out(`No certificate: add one with \`paas certs:add CERT_FILE KEY_FILE -a ${app}\`, or turn on automatic ones with \`paas certs:auto:enable -a ${app}\`.`);
    return;
  }
  for (const c of certs.certificates) {
    out(`${c.id}  ${c.hostnames.join(', ')}  ${c.issuer || '-'}  expires ${day(c.not_after)}  ${renewal(c)}`);
  }
}

export default function register(program: Command): void {
  program
    .command('certs')
    .description("list the app's HTTPS certificates (domains, issuer, expiry, how each renews) and its HTTPS settings")
    .addOption(appOption())
    .option('--json', 'output as JSON')
    .action(async (opts: { app?: string; json?: boolean }) => {
      const app = await resolveApp(opts.app);
      const certs = await api<Certs>('GET', `/v1/apps/${encodeURIComponent(app)}/certs`);
      if (opts.json) return json(certs);
      printCerts(app, certs);
    });
}
