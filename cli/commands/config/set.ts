import type { Command } from 'commander';
import { api } from '../../api.js';
import { CliError } from '../../errors.js';
import { appOption, resolveApp } from '../../app-option.js';
import { progress } from '../../output.js';
import { waitForRelease } from '../../release-wait.js';
import type { Release } from '../../types.js';

export default function register(program: Command): void {
  program
    .command('config:set <pairs...>')
    .description('set config vars (KEY=value ...) in one new release, and restart the dynos on it')
    .addOption(appOption())
    .action(async (pairs: string[], opts: { app?: string }) => {
      const body: Record<string, string> = {};
      for (const pair of pairs) {
        const eq = pair.indexOf('=');
        if (eq <= 0) throw new CliError(`${JSON.stringify(pair)} is not KEY=value. Example: paas config:set GREETING=hello`);
        body[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
      const app = await resolveApp(opts.app);
      progress(`Setting ${Object.keys(body).join(', ')} and restarting ${app}...\n`);
      const release = await api<Release>('PATCH', `/v1/apps/${encodeURIComponent(app)}/config`, body);
      await waitForRelease(app, release);
    });
}
