import type { Command } from 'commander';
import { api } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';
import { json, out } from '../../output.js';
import type { Domain } from '../../types.js';

export default function register(program: Command): void {
  program
    .command('domains')
    .description("list the hostnames an app answers at: its default <app>.<domain>, then its custom domains")
    .addOption(appOption())
    .option('--json', 'output as JSON')
    .action(async (opts: { app?: string; json?: boolean }) => {
      const app = await resolveApp(opts.app);
      const domains = await api<Domain[]>('GET', `/v1/apps/${encodeURIComponent(app)}/domains`);
      if (opts.json) return json(domains);
      for (const d of domains) out(d.hostname);
    });
}
