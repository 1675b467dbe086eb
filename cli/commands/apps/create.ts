import type { Command } from 'commander';
import { api } from '../../api.js';
import { setRemote } from '../../git.js';
import { json, out, progress } from '../../output.js';
import type { App } from '../../types.js';

export default function register(program: Command): void {
  program
    .command('apps:create [name]')
    .description('create an app (a name is generated if you give none); inside a git checkout, adds the `paas` remote')
    .option('--json', 'output as JSON')
    .option('--no-remote', 'do not add the `paas` git remote')
    .action(async (name: string | undefined, opts: { json?: boolean; remote: boolean }) => {
      progress(`Creating ${name ?? 'app'}... `);
      const app = await api<App>('POST', '/v1/apps', name === undefined ? {} : { name });
      progress('done\n');
      const added = opts.remote ? await setRemote(app.git_url) : false;
      if (opts.json) return json(app);
      out(`${app.name}`);
      out(`${app.web_url} | ${app.git_url}`);
      if (added) out(`Git remote paas added: deploy with \`git push paas main\``);
    });
}
