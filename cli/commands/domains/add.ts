import type { Command } from 'commander';
import { api } from '../../api.js';
import { resolveApp } from '../../git.js';
import { out } from '../../output.js';

export default function register(program: Command): void {
  program
    .command('domains:add <hostname>')
    .description('route a custom hostname (www.example.com, or *.example.com for one level under it) to the app')
    .option('-a, --app <name>', 'app (default: from the `paas` git remote)')
    .action(async (hostname: string, opts: { app?: string }) => {
      const app = await resolveApp(opts.app);
      const domain = await api<{ hostname: string }>('POST', `/v1/apps/${encodeURIComponent(app)}/domains`, { hostname });
      out(`${domain.hostname} routes to ${app}. Point its DNS at this paas router's address.`);
    });
}
