import type { Command } from 'commander';
import { api } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';
import { out } from '../../output.js';
import type { Drain } from '../../types.js';

export default function register(program: Command): void {
  program
    .command('drains:remove <url>')
    .description('stop sending the app\'s log lines to a drain (its URL, as `paas drains` lists it, or its token)')
    .addOption(appOption())
    .action(async (url: string, opts: { app?: string }) => {
      const app = await resolveApp(opts.app);
      const drain = await api<Drain>('DELETE', `/v1/apps/${encodeURIComponent(app)}/drains/${encodeURIComponent(url)}`);
      out(`Successfully removed drain ${drain.url} from ${app}`);
    });
}
