import type { Command } from 'commander';
import { api } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';
import { out } from '../../output.js';

export default function register(program: Command): void {
  program
    .command('domains:add <hostname>')
    .description('route a custom hostname (www.example.com, or *.example.com for one level under it) to the app')
    .addOption(appOption())
    .action(async (hostname: string, opts: { app?: string }) => {
      const app = await resolveApp(opts.app);
      const domain = await api<{ hostname: string }>('POST', `/v1/apps/${encodeURIComponent(app)}/domains`, { hostname });
      out(`${domain.hostname} routes to ${app}. Point its DNS at this paas router's address.`);
    });
}
