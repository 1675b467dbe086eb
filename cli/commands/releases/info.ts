import type { Command } from 'commander';
import { api } from '../../api.js';
import { appOption, resolveApp } from '../../app-option.js';
import { json, keyValues, out } from '../../output.js';
import type { Release } from '../../types.js';

export default function register(program: Command): void {
  program
    .command('releases:info [version]')
    .description('show one release (default: the current one)')
    .addOption(appOption())
    .option('--json', 'output as JSON')
    .action(async (version: string | undefined, opts: { app?: string; json?: boolean }) => {
      const app = await resolveApp(opts.app);
      const r = await api<Release>('GET', `/v1/apps/${encodeURIComponent(app)}/releases/${encodeURIComponent(version ?? 'current')}`);
      if (opts.json) return json(r);
      out(`=== Release v${r.version}`);
      keyValues([
        ['Description', r.description],
        ['Status', r.current ? `${r.status} (current)` : r.status],
        ['Commit', r.commit ?? 'none (no build yet)'],
        ['By', r.created_by],
        ['When', r.created_at],
      ]);
    });
}
