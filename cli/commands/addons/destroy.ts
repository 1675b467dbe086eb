import type { Command } from 'commander';
import { api } from '../../api.js';
import { CliError } from '../../errors.js';
import { out, progress } from '../../output.js';
import type { Addon } from '../../types.js';

export default function register(program: Command): void {
  program
    .command('addons:destroy <addon>')
    .description('permanently destroy an add-on and its data (and backups); refused while attached unless --force, which detaches it first')
    .option('--confirm <addon>', 'the add-on name again, to confirm')
    .option('--force', 'detach it from its apps first (a new release each)')
    .action(async (name: string, opts: { confirm?: string; force?: boolean }) => {
      if (opts.confirm !== name) {
        throw new CliError(`This permanently destroys ${name} and its data. To proceed, run: paas addons:destroy ${name} --confirm ${name}`);
      }
      progress(`Destroying ${name}... `);
      const addon = await api<Addon>('DELETE', `/v1/addons/${encodeURIComponent(name)}${opts.force ? '?force=true' : ''}`);
      progress('done\n');
      out(`Destroyed ${addon.name}`);
    });
}
