import type { Command } from 'commander';
import { api } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';
import { out } from '../../output.js';

export default function register(program: Command): void {
  program
    .command('ps:stop <dyno>')
    .description('stop one dyno (web.2); the formation still wants it, so a fresh one takes its place')
    .addOption(appOption())
    .action(async (dyno: string, opts: { app?: string }) => {
      const app = await resolveApp(opts.app);
      await api('POST', `/v1/apps/${encodeURIComponent(app)}/dynos/${encodeURIComponent(dyno)}/actions/stop`);
      out(`Stopped ${dyno} of ${app}; a fresh ${dyno} starts in its place`);
    });
}
