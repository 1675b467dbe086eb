import type { Command } from 'commander';
import { api } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';
import { CliError } from '../../errors.js';
import { removeRemoteFor } from '../../git.js';
import { out } from '../../output.js';

export default function register(program: Command): void {
  program
    .command('apps:destroy [name]')
    .description('permanently destroy an app: its dynos, code, releases and logs')
    .addOption(appOption('app to destroy'))
    .option('--confirm <name>', 'the app name again, to confirm')
    .option('--destroy-addons', 'also destroy its add-ons and their data (those attached to no other app); by default they are detached and kept')
    .action(async (name: string | undefined, opts: { app?: string; confirm?: string; destroyAddons?: boolean }) => {
      const app = await resolveApp(name ?? opts.app);
      if (opts.confirm !== app) {
        throw new CliError(`This permanently destroys ${app}. To proceed, run: paas apps:destroy ${app} --confirm ${app}`);
      }
      // Undefined (204) when the app had no add-ons.
      const addons = await api<{ destroyed_addons: string[]; kept_addons: string[] } | undefined>('DELETE', `/v1/apps/${encodeURIComponent(app)}${opts.destroyAddons ? '?destroy_addons=true' : ''}`);
      await removeRemoteFor(app);
      out(`Destroyed ${app}`);
      for (const addon of addons?.destroyed_addons ?? []) out(`Destroyed add-on ${addon}`);
      for (const addon of addons?.kept_addons ?? []) {
        out(`Kept add-on ${addon} and its data${opts.destroyAddons ? ' (attached to another app)' : `: paas addons:destroy ${addon} --confirm ${addon} removes it`}`);
      }
    });
}
