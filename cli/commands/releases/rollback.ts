import type { Command } from 'commander';
import { api } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';
import { progress } from '../../output.js';
import { waitForRelease } from '../../release-wait.js';
import type { Release } from '../../types.js';

export default function register(program: Command): void {
  program
    .command('releases:rollback [version]')
    .description("roll back to a release's code and config, without a rebuild (default: the previous succeeded release)")
    .addOption(appOption())
    .action(async (version: string | undefined, opts: { app?: string }) => {
      const app = await resolveApp(opts.app);
      progress(`Rolling back ${app}${version ? ` to ${version}` : ''}...\n`);
      const release = await api<Release>('POST', `/v1/apps/${encodeURIComponent(app)}/releases`, version ? { rollback: version } : {});
      await waitForRelease(app, release);
    });
}
