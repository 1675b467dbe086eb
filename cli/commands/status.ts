import type { Command } from 'commander';
import { formatBytes } from '../../lib/bytes.js';
import { api } from '../api.js';
import { json, keyValues, out } from '../output.js';
import type { ServerStatus } from '../../lib/disk-report.js';

function every(ms: number): string {
  if (ms === 0) return 'off (PAAS_GC_INTERVAL=0)';
  const hours = ms / 3_600_000;
  return hours >= 1 ? `every ${Number(hours.toFixed(1))} h` : `every ${Math.round(ms / 60_000)} min`;
}

export default function register(program: Command): void {
  program
    .command('status')
    .description("show the server: its version, runtime, data dir, and the data dir's use and free space")
    .option('--json', 'output as JSON')
    .action(async (opts: { json?: boolean }) => {
      const s = await api<ServerStatus>('GET', '/v1/status');
      if (opts.json) return json(s);
      const { disk } = s;
      out('=== paas server');
      keyValues([
        ['Version', s.version],
        ['Runtime', s.runtime],
        ['Data dir', s.data_dir],
        ['Free', `${formatBytes(disk.free_bytes)} of ${formatBytes(disk.total_bytes)}${disk.free_bytes < disk.min_free_bytes ? ` (below the ${formatBytes(disk.min_free_bytes)} a push needs: run \`paas gc\`)` : ''}`],
        ['Used by paas', formatBytes(s.used_bytes)],
        ['Garbage collection', `${every(s.gc.interval_ms)}, keeps ${s.gc.keep_releases} releases per app and ${s.gc.keep_backups} backups per add-on`],
      ]);
      out();
      out('=== Data dir use');
      keyValues(Object.entries(s.used).sort(([, a], [, b]) => b - a).map(([part, bytes]) => [part, formatBytes(bytes)]));
    });
}
