import type { Command } from 'commander';
import { api } from '../../api.js';
import { resolveApp } from '../../git.js';

export default function register(program: Command): void {
  program
    .command('config:get <key>')
    .description('print the value of one config var (nothing if it is not set)')
    .option('-a, --app <name>', 'app (default: from the `paas` git remote)')
    .action(async (key: string, opts: { app?: string }) => {
      const app = await resolveApp(opts.app);
      const config = await api<Record<string, string>>('GET', `/v1/apps/${encodeURIComponent(app)}/config`);
      // Written as is, so `$(paas config:get KEY)` gives back the exact value.
      process.stdout.write(config[key] !== undefined ? `${config[key]}\n` : '');
    });
}
