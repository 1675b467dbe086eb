import type { Command } from 'commander';
import { api } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';
import { progress } from '../../output.js';
import { waitForRelease } from '../../release-wait.js';
import type { Release } from '../../types.js';

export default function register(program: Command): void {
  program
    .command('config:unset <keys...>')
    .description('remove config vars in one new release, and restart the dynos on it')
    .addOption(appOption())
    .action(async (keys: string[], opts: { app?: string }) => {
      const app = await resolveApp(opts.app);
      progress(`Unsetting ${keys.join(', ')} and restarting ${app}...\n`);
      const body = Object.fromEntries(keys.map((k) => [k, null]));
      const release = await api<Release>('PATCH', `/v1/apps/${encodeURIComponent(app)}/config`, body);
      await waitForRelease(app, release);
    });
}
