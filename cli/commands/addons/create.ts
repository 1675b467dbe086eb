import type { Command } from 'commander';
import { apiWithHeaders } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';
import { out, progress, ticking } from '../../output.js';
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
      // The wait has a reason beside it: a new server of its own is made and started for the add-on.
      const why = service === 'postgresql' ? 'a PostgreSQL server of its own: a new cluster, its first start' : service === 'redis' ? 'a Redis server of its own, started' : 'provisioning';
      const created = apiWithHeaders<Addon>('POST', `/v1/apps/${encodeURIComponent(app)}/addons`, { service, ...(opts.as === undefined ? {} : { as: opts.as }) });
      const { body: addon, headers } = await ticking(`Creating ${service} on ${app} (${why})...`, created);
      const as = addon.attachments.find((a) => a.app === app)?.as;
      progress(`${addon.name} attached as ${as}_URL; restarting ${app} with it...\n`);
      await waitForAttachment(app, headers);
      out(addon.name);
    });
}
