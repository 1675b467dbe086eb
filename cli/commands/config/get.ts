import type { Command } from 'commander';
import { api } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';

export default function register(program: Command): void {
  program
    .command('config:get <key>')
    .description('print the value of one config var (nothing if it is not set)')
    .addOption(appOption())
    .action(async (key: string, opts: { app?: string }) => {
      const app = await resolveApp(opts.app);
      const config = await api<Record<string, string>>('GET', `/v1/apps/${encodeURIComponent(app)}/config`);
      // Written as is, so `$(paas config:get KEY)` gives back the exact value.
      process.stdout.write(config[key] !== undefined ? `${config[key]}\n` : '');
    });
}
