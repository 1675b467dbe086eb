import type { Command } from 'commander';
import { api } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';
import { json, out, progress } from '../../output.js';
import type { App } from '../../types.js';

/** Registers `maintenance:on` or `maintenance:off`, which differ only in the value they set. */
export function registerSwitch(program: Command, on: boolean): void {
  program
    .command(`maintenance:${on ? 'on' : 'off'}`)
    .description(
      on
        ? 'answer every request to the app with a 503 maintenance page, at once; its dynos keep running'
        : 'route requests to the app again, at once',
    )
    .addOption(appOption())
    .action(async (opts: { app?: string }) => {
      const app = await resolveApp(opts.app);
      progress(`${on ? 'Enabling' : 'Disabling'} maintenance mode for ${app}...\n`);
      await api<App>('PATCH', `/v1/apps/${encodeURIComponent(app)}`, { maintenance: on });
      out(on ? `Maintenance mode is on for ${app}: requests get a 503 maintenance page; dynos keep running` : `Maintenance mode is off for ${app}`);
    });
}

export default function register(program: Command): void {
  program
    .command('maintenance')
    .description("show whether the app is in maintenance mode: on or off")
    .addOption(appOption())
    .option('--json', 'output as JSON: {"maintenance": true|false}')
    .action(async (opts: { app?: string; json?: boolean }) => {
      const app = await resolveApp(opts.app);
      const { maintenance } = await api<App>('GET', `/v1/apps/${encodeURIComponent(app)}`);
      if (opts.json) return json({ maintenance });
      out(maintenance ? 'on' : 'off');
    });
}
