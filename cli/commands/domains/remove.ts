import type { Command } from 'commander';
import { api } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';
import { out } from '../../output.js';

export default function register(program: Command): void {
  program
    .command('domains:remove <hostname>')
    .description('stop routing a custom hostname to the app (another app may then add it)')
    .addOption(appOption())
    .action(async (hostname: string, opts: { app?: string }) => {
      const app = await resolveApp(opts.app);
      await api('DELETE', `/v1/apps/${encodeURIComponent(app)}/domains/${encodeURIComponent(hostname)}`);
      out(`Removed ${hostname} from ${app}`);
    });
}
