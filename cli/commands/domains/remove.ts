import type { Command } from 'commander';
import { api } from '../../api.js';
import { resolveApp } from '../../git.js';
import { out } from '../../output.js';

export default function register(program: Command): void {
  program
    .command('domains:remove <hostname>')
    .description('stop routing a custom hostname to the app (another app may then add it)')
    .option('-a, --app <name>', 'app (default: from the `paas` git remote)')
    .action(async (hostname: string, opts: { app?: string }) => {
      const app = await resolveApp(opts.app);
      await api('DELETE', `/v1/apps/${encodeURIComponent(app)}/domains/${encodeURIComponent(hostname)}`);
      out(`Removed ${hostname} from ${app}`);
    });
}
