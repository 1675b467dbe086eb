import type { Command } from 'commander';
import { api } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';
import { json, keyValues, out } from '../../output.js';
import type { App } from '../../types.js';

export default function register(program: Command): void {
  program
    .command('apps:info')
    .description('show an app')
    .addOption(appOption('app to show (default: from the `paas` git remote)'))
    .option('--json', 'output as JSON')
    .action(async (opts: { app?: string; json?: boolean }) => {
      const name = await resolveApp(opts.app);
      const app = await api<App>('GET', `/v1/apps/${encodeURIComponent(name)}`);
      if (opts.json) return json(app);
      out(`=== ${app.name}`);
      keyValues([
        ['Web URL', app.web_url],
        ['Git URL', app.git_url],
        ['Release', app.release ? `v${app.release.version} (${app.release.description})` : 'none yet: git push paas main'],
        ['Maintenance', app.maintenance ? 'on' : 'off'],
        ['Dynos', app.dynos.length ? app.dynos.map((d) => `${d.name}: ${d.state}`).join(', ') : 'none'],
        ['Created', app.created_at],
      ]);
    });
}
