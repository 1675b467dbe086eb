import type { Command } from 'commander';
import { api } from '../../api.js';
import { parseCount } from '../../errors.js';
import { appOption, resolveApp } from '../../app-option.js';
import { json, out } from '../../output.js';
import type { Build } from '../../types.js';

export default function register(program: Command): void {
  program
    .command('builds')
    .description("list an app's builds, newest first")
    .addOption(appOption())
    .option('-n, --num <count>', 'how many builds (1 to 1000)', '15')
    .option('--json', 'output as JSON')
    .action(async (opts: { app?: string; num: string; json?: boolean }) => {
      const n = parseCount(opts.num, 1000);
      const app = await resolveApp(opts.app);
      const builds = await api<Build[]>('GET', `/v1/apps/${encodeURIComponent(app)}/builds?limit=${n}`);
      if (opts.json) return json(builds);
      out(`=== ${app} Builds`);
      const rows = builds.map((b) => [b.id, b.status, b.commit.slice(0, 7), b.buildpack ?? '-', b.created_at, b.duration === null ? '-' : `${b.duration}s`]);
      const header = ['ID', 'Status', 'Commit', 'Buildpack', 'Created', 'Duration'];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
      for (const row of [header, ...rows]) out(row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd());
    });
}
