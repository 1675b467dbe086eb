import type { Command } from 'commander';
import { api } from '../api.js';
import { parseCount } from '../errors.js';
import { resolveApp } from '../git.js';
import { json, out } from '../output.js';
import type { LogLine } from '../types.js';

export default function register(program: Command): void {
  program
    .command('logs')
    .description("show an app's recent log lines (dyno output and platform events)")
    .option('-a, --app <name>', 'app (default: from the `paas` git remote)')
    .option('-n, --num <lines>', 'number of lines to show (at most the history the server keeps: PAAS_LOG_HISTORY, 1500 by default)', '100')
    .option('--json', 'output as JSON')
    .action(async (opts: { app?: string; num: string; json?: boolean }) => {
      const n = parseCount(opts.num, 1_000_000);
      const app = await resolveApp(opts.app);
      const lines = await api<LogLine[]>('GET', `/v1/apps/${encodeURIComponent(app)}/logs?lines=${n}`);
      if (opts.json) return json(lines);
      for (const l of lines) out(`${l.time} ${l.source}: ${l.line}`);
    });
}
