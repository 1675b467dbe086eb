import type { Command } from 'commander';
import { api } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';
import { json, out } from '../../output.js';
import type { Addon } from '../../types.js';

/** `APP::DATABASE, OTHER::DATABASE`: where an add-on is attached, as Heroku writes attachments. */
export function attachedTo(addon: Addon): string {
  return addon.attachments.length ? addon.attachments.map((a) => `${a.app}::${a.as}`).join(', ') : 'not attached';
}

export default function register(program: Command): void {
  program
    .command('addons')
    .description("list the app's add-ons (PostgreSQL and Redis servers it is attached to), or every add-on with --all")
    .addOption(appOption())
    .option('--all', 'list every add-on, attached or not')
    .option('--json', 'output as JSON')
    .action(async (opts: { app?: string; all?: boolean; json?: boolean }) => {
      const app = opts.all ? undefined : await resolveApp(opts.app);
      const addons = await api<Addon[]>('GET', app ? `/v1/apps/${encodeURIComponent(app)}/addons` : '/v1/addons');
      if (opts.json) return json(addons);
      if (!addons.length) {
        return out(app ? `${app} has no add-ons. Create one with \`paas addons:create postgresql -a ${app}\`.` : 'There are no add-ons. Create one with `paas addons:create postgresql -a APP`.');
      }
      const rows = addons.map((a) => [a.name, `${a.service} ${a.version}`, a.state, attachedTo(a)]);
      const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
      for (const r of rows) out(r.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]) : cell)).join('  '));
    });
}
