import type { Command } from 'commander';
import { api } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';
import { json, keyValues, out } from '../../output.js';

/** Single-quotes a value for POSIX shells: the only special character inside '' is ' itself. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export default function register(program: Command): void {
  program
    .command('config')
    .description("show an app's config vars")
    .addOption(appOption())
    .option('--json', 'output as one JSON object')
    .option('--shell', 'output as KEY=value lines for a shell (values quoted)')
    .action(async (opts: { app?: string; json?: boolean; shell?: boolean }) => {
      const app = await resolveApp(opts.app);
      const config = await api<Record<string, string>>('GET', `/v1/apps/${encodeURIComponent(app)}/config`);
      if (opts.json) return json(config);
      const keys = Object.keys(config).sort();
      if (opts.shell) {
        for (const k of keys) out(`${k}=${shellQuote(config[k])}`);
        return;
      }
      out(`=== ${app} Config Vars`);
      if (keys.length) keyValues(keys.map((k) => [k, config[k]]));
    });
}
