import type { Command } from 'commander';
import { api } from '../../api.js';
import { json, keyValues, out } from '../../output.js';
import type { Addon } from '../../types.js';
import { attachedTo } from './index.js';

export default function register(program: Command): void {
  program
    .command('addons:info <addon>')
    .description('show an add-on: its service and version, state and the apps it is attached to')
    .option('--json', 'output as JSON')
    .action(async (name: string, opts: { json?: boolean }) => {
      const addon = await api<Addon>('GET', `/v1/addons/${encodeURIComponent(name)}`);
      if (opts.json) return json(addon);
      out(`=== ${addon.name}`);
      keyValues([
        ['Service', `${addon.service} ${addon.version}`],
        ['State', addon.state],
        ['Attachments', attachedTo(addon)],
        ['Created', addon.created_at],
      ]);
    });
}
