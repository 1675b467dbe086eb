import type { Command } from 'commander';
import { api } from '../../api.js';
import { CliError } from '../../errors.js';
import { removeRemoteFor, resolveApp } from '../../git.js';
import { out } from '../../output.js';

export default function register(program: Command): void {
  program
    .command('apps:destroy [name]')
    .description('permanently destroy an app: its dynos, code, releases and logs')
    .option('-a, --app <name>', 'app to destroy')
    .option('--confirm <name>', 'the app name again, to confirm')
    .action(async (name: string | undefined, opts: { app?: string; confirm?: string }) => {
      const app = await resolveApp(name ?? opts.app);
      if (opts.confirm !== app) {
        throw new CliError(`This permanently destroys ${app}. To proceed, run: paas apps:destroy ${app} --confirm ${app}`);
      }
      await api('DELETE', `/v1/apps/${encodeURIComponent(app)}`);
      await removeRemoteFor(app);
      out(`Destroyed ${app}`);
    });
}
