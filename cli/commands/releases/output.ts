import type { Command } from 'commander';
import { apiText } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';

export default function register(program: Command): void {
  program
    .command('releases:output <version>')
    .description("show a release's output: its release phase (the Procfile `release` command) and its dynos' boot")
    .addOption(appOption())
    .action(async (version: string, opts: { app?: string }) => {
      const app = await resolveApp(opts.app);
      process.stdout.write(await apiText(`/v1/apps/${encodeURIComponent(app)}/releases/${encodeURIComponent(version)}/output`));
    });
}
