import type { Command } from 'commander';
import { formatBytes } from '../../lib/bytes.js';
import { api } from '../api.js';
import { json, keyValues, out, progress } from '../output.js';
import type { GcReport } from '../../lib/disk-report.js';

export default function register(program: Command): void {
  program
    .command('gc')
    .description('remove what no kept release needs (old slugs, images, Node and package-manager versions, outputs, backups) and say what it freed')
    .option('--dry-run', 'only say what would be freed')
    .option('--json', 'output as JSON')
    .action(async (opts: { dryRun?: boolean; json?: boolean }) => {
      progress(opts.dryRun ? 'Measuring what paas gc would free...\n' : 'Collecting what no kept release needs...\n');
      const report = await api<GcReport>('POST', '/v1/gc', { dry_run: Boolean(opts.dryRun) });
      if (opts.json) return json(report);
      out(`${report.dry_run ? 'Would free' : 'Freed'} ${formatBytes(report.total_bytes)} (keeping the last ${report.kept_releases} releases of each app)`);
      keyValues(Object.entries(report.freed).map(([kind, f]) => [kind, `${formatBytes(f.bytes)}${f.items ? ` in ${f.items} item${f.items === 1 ? '' : 's'}` : ''}`]));
      for (const note of report.notes) out(note);
    });
}
