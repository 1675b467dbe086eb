import type { Command } from 'commander';
import { apiWithHeaders } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';
import { out, progress } from '../../output.js';
import { waitForAttachment } from '../../release-wait.js';
import type { Addon } from '../../types.js';

export default function register(program: Command): void {
  program
    .command('addons:attach <addon>')
    .description("attach an existing add-on to the app (one database shared by two apps): its URL in the app's config, in a new release")
    .addOption(appOption())
    .option('--as <name>', 'attach as NAME_URL instead of DATABASE_URL / REDIS_URL')
    .action(async (name: string, opts: { app?: string; as?: string }) => {
      const app = await resolveApp(opts.app);
      progress(`Attaching ${name} to ${app} and restarting it...\n`);
      const { body: addon, headers } = await apiWithHeaders<Addon>('POST', `/v1/addons/${encodeURIComponent(name)}/attachments`, { app, ...(opts.as === undefined ? {} : { as: opts.as }) });
      const release = await waitForAttachment(app, headers);
      const as = addon.attachments.find((a) => a.app === app)?.as;
      out(`Attached ${addon.name} to ${app} as ${as}_URL${release ? ` (v${release.version})` : ''}`);
    });
}
