import { InvalidParamsError } from '../../lib/errors.js';
import type { LogLine } from './pipeline.js';

/** Which lines a reader wants: `--ps`, `--source` and, for a tail reconnecting, `since`. */
export interface LogFilter {
  /** A dyno (`web.1`) or a process type (`web`). */
  ps?: string;
  source?: 'app' | 'paas' | 'router';
  /** RFC 3339 with microseconds, as the lines carry it: history lines at or after it. */
  since?: string;
}

const PS = /^[a-z][a-z0-9_-]{0,62}(\.\d{1,6})?$/;
const SOURCES = ['app', 'paas', 'router'] as const;
// Exactly the form our lines carry (time.ts), so that comparing strings compares times.
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
/** The pipeline's own L10 notice: it reports lines lost whatever the filter, so every reader gets it. */
const NOTICE_SOURCE = 'paas[logplex]';

const one = (raw: unknown, name: string): string | undefined => {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw new InvalidParamsError(`Give ${name} once.`);
  return raw;
};

/** Reads and checks `ps`, `source` and `since` from a query; bad values are 422s that say what fits. */
export function parseLogFilter(query: Record<string, unknown>): LogFilter {
  const ps = one(query.ps, 'ps');
  if (ps !== undefined && !PS.test(ps)) throw new InvalidParamsError(`ps must be a dyno (web.1) or a process type (web), not ${JSON.stringify(ps)}.`);
  const source = one(query.source, 'source');
  if (source !== undefined && !(SOURCES as readonly string[]).includes(source)) {
    throw new InvalidParamsError(`source must be one of ${SOURCES.join(', ')}, not ${JSON.stringify(source)}.`);
  }
  const since = one(query.since, 'since');
  if (since !== undefined && !TIME.test(since)) throw new InvalidParamsError(`since must be a log line's time, such as 2026-11-23T20:31:05.123456Z, not ${JSON.stringify(since)}.`);
  return { ps, source: source as LogFilter['source'], since };
}

/** The name in a source's brackets: `web.1` of `app[web.1]` and `paas[web.1]`. */
function procOf(source: string): string | undefined {
  const open = source.indexOf('[');
  return open < 0 || !source.endsWith(']') ? undefined : source.slice(open + 1, -1);
}

/**
 * Whether a line passes the filter (`since` aside: it applies to history only). `ps` matches the
 * dyno in the brackets of any source, as Heroku's `--dyno` does: `web.1` gets `app[web.1]` and the
 * platform's `paas[web.1]` lines about it; `web` gets every `web.N`.
 */
export function matchesFilter(filter: LogFilter, source: string): boolean {
  if (source === NOTICE_SOURCE) return true;
  if (filter.source === 'router' ? source !== 'router' : filter.source && !source.startsWith(`${filter.source}[`)) return false;
  if (filter.ps === undefined) return true;
  const proc = procOf(source);
  if (proc === undefined) return false;
  return filter.ps.includes('.') ? proc === filter.ps : proc.startsWith(`${filter.ps}.`);
}

/** The last `n` lines of `history` that pass the filter, `since` included. */
export function lastMatching(history: readonly LogLine[], n: number, filter: LogFilter): LogLine[] {
  const out: LogLine[] = [];
  for (let i = history.length - 1; i >= 0 && out.length < n; i--) {
    const l = history[i];
    if (filter.since !== undefined && l.time < filter.since) continue;
    if (matchesFilter(filter, l.source)) out.push(l);
  }
  return out.reverse();
}
