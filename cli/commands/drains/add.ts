import type { Command } from 'commander';
import { api } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';
import { out } from '../../output.js';
import type { Drain } from '../../types.js';

export default function register(program: Command): void {
  program
    .command('drains:add <url>')
    .description('send the app\'s log lines to a drain: syslog+tcp://HOST:PORT (RFC 5424) or https://… / http://… (batched logplex POSTs)')
    .addOption(appOption())
    .action(async (url: string, opts: { app?: string }) => {
      const app = await resolveApp(opts.app);
      const drain = await api<Drain>('POST', `/v1/apps/${encodeURIComponent(app)}/drains`, { url });
      out(`Successfully added drain ${drain.url} (${drain.token}) to ${app}`);
    });
}
