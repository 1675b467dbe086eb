import type { Command } from 'commander';
import { api } from '../../api.js';
import { parseCount } from '../../errors.js';
import { appOption, resolveApp } from '../../app-option.js';
import { json, out } from '../../output.js';
import type { Release } from '../../types.js';

export default function register(program: Command): void {
  program
    .command('releases')
    .description("list an app's releases, newest first")
    .addOption(appOption())
    .option('-n, --num <count>', 'how many releases (1 to 1000)', '15')
    .option('--json', 'output as JSON')
    .action(async (opts: { app?: string; num: string; json?: boolean }) => {
      const n = parseCount(opts.num, 1000);
      const app = await resolveApp(opts.app);
      const releases = await api<Release[]>('GET', `/v1/apps/${encodeURIComponent(app)}/releases?limit=${n}`);
      if (opts.json) return json(releases);
      const current = releases.find((r) => r.current);
      out(`=== ${app} Releases${current ? ` - Current: v${current.version}` : ''}`);
      const width = Math.max(0, ...releases.map((r) => r.description.length));
      for (const r of releases) {
        const mark = r.current ? ' (current)' : r.status === 'succeeded' ? '' : ` (${r.status})`;
        out(`v${String(r.version).padEnd(4)} ${r.description.padEnd(width)}  ${r.created_by.padEnd(16)} ${r.created_at}${mark}`);
      }
    });
}
