import type { Command } from 'commander';
import { api } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';
import { json, out } from '../../output.js';
import type { Backup } from '../../types.js';

/** `?as=NAME` when the app's PostgreSQL add-on is picked by its attachment. */
export function asQuery(as: string | undefined): string {
  return as === undefined ? '' : `?as=${encodeURIComponent(as)}`;
}

export default function register(program: Command): void {
  program
    .command('pg:backups')
    .description("list the backups of the app's PostgreSQL add-on")
    .addOption(appOption())
    .option('--as <name>', 'the add-on attached as NAME, when the app has several')
    .option('--json', 'output as JSON')
    .action(async (opts: { app?: string; as?: string; json?: boolean }) => {
      const app = await resolveApp(opts.app);
      const backups = await api<Backup[]>('GET', `/v1/apps/${encodeURIComponent(app)}/pg/backups${asQuery(opts.as)}`);
      if (opts.json) return json(backups);
      if (!backups.length) return out(`No backups yet. Capture one with \`paas pg:backups:capture -a ${app}\`.`);
      out(`=== Backups of ${backups[0].addon}`);
      for (const b of backups) out(`${b.id}  ${b.created_at}  ${b.status.padEnd(9)}  ${b.size === null ? '' : `${b.size} bytes`}`.trimEnd());
    });
}
