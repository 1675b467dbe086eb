import type { Command } from 'commander';
import { api } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';
import { CliError } from '../../errors.js';
import { setRemote } from '../../git.js';
import { out } from '../../output.js';
import type { App } from '../../types.js';

export default function register(program: Command): void {
  program
    .command('git:remote')
    .description('add or update the `paas` git remote of this checkout, with git push authenticated by paas')
    .addOption(appOption('app to push to (default: the one the `paas` remote names already)'))
    .action(async (opts: { app?: string }) => {
      const name = await resolveApp(opts.app);
      const app = await api<App>('GET', `/v1/apps/${encodeURIComponent(name)}`);
      if (!(await setRemote(app.git_url))) throw new CliError('Not in a git checkout. Run this inside your app\'s repository (`git init` makes one).');
      out(`set git remote paas to ${app.git_url}`);
    });
}
