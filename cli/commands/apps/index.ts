import type { Command } from 'commander';
import { api } from '../../api.js';
import { json, out } from '../../output.js';
import type { App } from '../../types.js';

export default function register(program: Command): void {
  program
    .command('apps')
    .description('list your apps')
    .option('--json', 'output as JSON')
    .action(async (opts: { json?: boolean }) => {
      const apps = await api<App[]>('GET', '/v1/apps');
      if (opts.json) return json(apps);
      if (!apps.length) return out('You have no apps. Create one with `paas apps:create`.');
      out('=== Apps');
      for (const a of apps) out(a.name);
    });
}
