import type { Command } from 'commander';
import { api, apiText } from '../../api.js';
import { CliError } from '../../errors.js';
import { appOption, resolveApp } from '../../app-option.js';
import type { Build } from '../../types.js';

export default function register(program: Command): void {
  program
    .command('builds:output [id]')
    .description('show the full output of a build, as the pusher saw it (default: the latest build)')
    .addOption(appOption())
    .action(async (id: string | undefined, opts: { app?: string }) => {
      const app = await resolveApp(opts.app);
      const base = `/v1/apps/${encodeURIComponent(app)}/builds`;
      if (!id) {
        const [latest] = await api<Build[]>('GET', `${base}?limit=1`);
        if (!latest) throw new CliError(`${app} has no builds yet. Deploy it with \`git push paas main\`.`);
        id = latest.id;
      }
      process.stdout.write(await apiText(`${base}/${encodeURIComponent(id)}/output`));
    });
}
