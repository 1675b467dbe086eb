import type { Deps } from './deps.js';
import { collectGarbage, GC_KINDS, type GcReport } from './collect.js';
import { formatBytes } from '../../lib/bytes.js';

/** POST /v1/gc: one collection now (see ../disk/gc.ts); `dryRun` only measures. */
export function runGc(params: { dryRun?: boolean }, deps: Deps): Promise<GcReport> {
  return collectGarbage(deps, params);
}

/** One line for the server log: what a collection freed, per kind. */
export function describeGc(report: GcReport): string {
  const kinds = GC_KINDS.filter((k) => report.freed[k].bytes > 0 || report.freed[k].items > 0).map((k) => `${k} ${formatBytes(report.freed[k].bytes)}`);
  const what = kinds.length ? ` (${kinds.join(', ')})` : '';
  return `${report.dry_run ? 'would free' : 'freed'} ${formatBytes(report.total_bytes)}${what}${report.notes.length ? `; ${report.notes.join(' ')}` : ''}`;
}

/**
 * Runs `paas gc` every PAAS_GC_INTERVAL (never when 0), logging what each run freed; a failed run
 * is logged and the next one tries again. It stops itself once the server drains (shutdown).
 */
export function startGcTimer(deps: Deps, log: (line: string) => void): void {
  const every = deps.config.disk.gcIntervalMs;
  if (every === 0) return;
  let running = false;
  const timer = setInterval(() => {
    // Shutdown refuses new work, this too; a run still going when the next is due is not doubled.
    if (deps.lifecycle.draining) return clearInterval(timer);
    if (running) return;
    running = true;
    collectGarbage(deps)
      .then((report) => log(`paas gc: ${describeGc(report)}`))
      .catch((err: Error) => log(`paas gc failed: ${err.message}. The next run tries again.`))
      .finally(() => (running = false));
  }, every);
  timer.unref();
}
