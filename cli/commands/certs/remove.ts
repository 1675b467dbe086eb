import type { Command } from 'commander';
import { api } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';
import { out } from '../../output.js';
import type { Cert } from '../../types.js';

export default function register(program: Command): void {
  program
    .command('certs:remove <ID_OR_HOSTNAME>')
    .description('stop serving a certificate of the app (by its id, or a hostname it covers) and delete its files')
    .addOption(appOption())
    .action(async (target: string, opts: { app?: string }) => {
      const app = await resolveApp(opts.app);
      const cert = await api<Cert>('DELETE', `/v1/apps/${encodeURIComponent(app)}/certs/${encodeURIComponent(target)}`);
      const again = cert.source === 'acme' ? ' Automatic certificates order a new one unless you run `paas certs:auto:disable`.' : '';
      out(`Removed ${cert.id} (${cert.hostnames.join(', ')}) from ${app}.${again}`);
    });
}
