import type { Command } from 'commander';
import { api } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';
import { out, progress } from '../../output.js';

export default function register(program: Command): void {
  program
    .command('ps:restart [target]')
    .alias('restart')
    .description('restart all dynos, one process type (web) or one dyno (web.2); web dynos roll with no dropped request')
    .addOption(appOption())
    .action(async (target: string | undefined, opts: { app?: string }) => {
      const app = await resolveApp(opts.app);
      const what = target ?? 'all dynos';
      progress(`Restarting ${what} of ${app}...\n`);
      await api('DELETE', `/v1/apps/${encodeURIComponent(app)}/dynos${target ? `/${encodeURIComponent(target)}` : ''}`);
      out(`Restarted ${what} of ${app}`);
    });
}
