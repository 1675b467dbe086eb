import type { Command } from 'commander';
import { api } from '../../api.js';
import { resolveApp } from '../../git.js';
import { out } from '../../output.js';

export default function register(program: Command): void {
  program
    .command('ps:stop <dyno>')
    .description('stop one dyno (web.2); the formation still wants it, so a fresh one takes its place')
    .option('-a, --app <name>', 'app (default: from the `paas` git remote)')
    .action(async (dyno: string, opts: { app?: string }) => {
      const app = await resolveApp(opts.app);
      await api('POST', `/v1/apps/${encodeURIComponent(app)}/dynos/${encodeURIComponent(dyno)}/actions/stop`);
      out(`Stopped ${dyno} of ${app}; a fresh ${dyno} starts in its place`);
    });
}
