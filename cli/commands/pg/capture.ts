import type { Command } from 'commander';
import { api } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';
import { out, progress } from '../../output.js';
import type { Backup } from '../../types.js';
import { asQuery } from './backups.js';

export default function register(program: Command): void {
  program
    .command('pg:backups:capture')
    .description("capture a backup (pg_dump) of the app's PostgreSQL add-on, kept in the paas data dir; prints its id")
    .addOption(appOption())
    .option('--as <name>', 'the add-on attached as NAME, when the app has several')
    .action(async (opts: { app?: string; as?: string }) => {
      const app = await resolveApp(opts.app);
      progress(`Capturing a backup of ${app}'s database... `);
      const backup = await api<Backup>('POST', `/v1/apps/${encodeURIComponent(app)}/pg/backups${asQuery(opts.as)}`);
      progress(`done: ${backup.size} bytes\n`);
      out(backup.id);
    });
}
