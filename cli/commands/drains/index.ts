import type { Command } from 'commander';
import { api } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';
import { json, out } from '../../output.js';
import type { Drain } from '../../types.js';

export default function register(program: Command): void {
  program
    .command('drains')
    .description("list the app's log drains: where its log lines are sent (syslog or HTTPS), with each drain's token")
    .addOption(appOption())
    .option('--json', 'output as JSON')
    .action(async (opts: { app?: string; json?: boolean }) => {
      const app = await resolveApp(opts.app);
      const drains = await api<Drain[]>('GET', `/v1/apps/${encodeURIComponent(app)}/drains`);
      if (opts.json) return json(drains);
      if (!drains.length) return out(`${app} has no drains. Add one with \`paas drains:add URL -a ${app}\`.`);
      for (const d of drains) out(`${d.url} (${d.token})`);
    });
}
