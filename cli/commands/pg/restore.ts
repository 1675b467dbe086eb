import type { Command } from 'commander';
import { api } from '../../api.js';
import { CliError } from '../../errors.js';
import { appOption, resolveApp } from '../../app-option.js';
import { out, progress } from '../../output.js';
import type { Backup } from '../../types.js';
import { asQuery } from './backups.js';

export default function register(program: Command): void {
  program
    .command('pg:backups:restore <id>')
    .description("restore a backup into the app's PostgreSQL add-on (pg_restore --clean): what was written since is lost")
    .addOption(appOption())
    .option('--as <name>', 'the add-on attached as NAME, when the app has several')
    .option('--confirm <app>', 'the app name again, to confirm')
    .action(async (id: string, opts: { app?: string; as?: string; confirm?: string }) => {
      const app = await resolveApp(opts.app);
      if (opts.confirm !== app) {
        throw new CliError(`This overwrites ${app}'s database with backup ${id}; what was written since is lost. To proceed, run: paas pg:backups:restore ${id} -a ${app} --confirm ${app}`);
      }
      progress(`Restoring ${id} into ${app}'s database... `);
      const backup = await api<Backup>('POST', `/v1/apps/${encodeURIComponent(app)}/pg/backups/${encodeURIComponent(id)}/restore${asQuery(opts.as)}`);
      progress('done\n');
      out(`Restored ${backup.id} into ${backup.addon}`);
    });
}
