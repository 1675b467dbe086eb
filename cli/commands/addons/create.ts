import type { Command } from 'commander';
import { apiWithHeaders } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';
import { out, progress } from '../../output.js';
import { waitForAttachment } from '../../release-wait.js';
import type { Addon } from '../../types.js';

export default function register(program: Command): void {
  program
    .command('addons:create <service>')
    .description('provision a PostgreSQL (postgresql) or Redis (redis) server and attach it to the app: DATABASE_URL or REDIS_URL, in a new release; prints its name')
    .addOption(appOption())
    .option('--as <name>', 'attach as NAME_URL instead of DATABASE_URL / REDIS_URL')
    .action(async (service: string, opts: { app?: string; as?: string }) => {
      const app = await resolveApp(opts.app);
      progress(`Creating ${service} on ${app}... `);
      const { body: addon, headers } = await apiWithHeaders<Addon>('POST', `/v1/apps/${encodeURIComponent(app)}/addons`, { service, ...(opts.as === undefined ? {} : { as: opts.as }) });
      const as = addon.attachments.find((a) => a.app === app)?.as;
      progress(`done: ${addon.name}, attached as ${as}_URL; restarting ${app}...\n`);
      await waitForAttachment(app, headers);
      out(addon.name);
    });
}
