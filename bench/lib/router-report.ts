// What bench:router prints: a table per worker count and connection count (each leg's medians over
// the rounds), the ratios router/nginx against issue 12's goals, and the same as one markdown table
// for docs/benchmarks.md.
import type { WrkResult } from './wrk.js';

export type LegKind = 'direct' | 'nginx' | 'router';

/** Every round's result of each leg, by legKey(). */
export type Samples = Map<string, WrkResult[]>;

/** Direct to the dyno does not depend on N: its key has none. */
export const legKey = (kind: LegKind, workers: number, connections: number): string => `${kind}:${kind === 'direct' ? 0 : workers}:${connections}`;

/** The goals of issue 12. */
export const GOALS = { minRatio: 0.5, maxP99Ratio: 2 };

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export interface LegSummary {
  rps: number;
  p99Ms: number;
  socketErrors: number;
}

export function summary(samples: Samples, key: string): LegSummary {
  const runs = samples.get(key) ?? [];
  if (runs.length === 0) throw new Error(`no results for ${key}`);
  return {
    rps: median(runs.map((r) => r.requestsPerSec)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    socketErrors: runs.reduce((sum, r) => sum + r.socketErrors, 0),
  };
}

export interface Row {
  workers: number;
  connections: number;
  direct: LegSummary;
  nginx: LegSummary;
  router: LegSummary;
  ratio: number;
  p99Ratio: number;
}

export function rows(samples: Samples, workerCounts: number[], connections: number[]): Row[] {
  return workerCounts.flatMap((workers) =>
    connections.map((c) => {
      const [direct, nginx, router] = (['direct', 'nginx', 'router'] as const).map((kind) => summary(samples, legKey(kind, workers, c)));
      return { workers, connections: c, direct, nginx, router, ratio: router.rps / nginx.rps, p99Ratio: router.p99Ms / nginx.p99Ms };
    }),
  );
}

const rps = (n: number) => n.toFixed(0);
const ms = (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms`;
const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
const plural = (n: number) => `${n} worker${n === 1 ? '' : 's'}`;

export function printTables(all: Row[], routerLabel: (workers: number) => string): void {
  for (const r of all) {
    console.log(`\nN=${r.workers}, ${r.connections} connections`);
    console.log('| leg | requests/s | p99 | socket errors (all rounds) |');
    console.log('| --- | ---: | ---: | ---: |');
    const legs: [string, LegSummary][] = [
      ['direct to the dyno', r.direct],
      [`nginx, ${plural(r.workers)}`, r.nginx],
      [routerLabel(r.workers), r.router],
    ];
    for (const [name, s] of legs) console.log(`| ${name} | ${rps(s.rps)} | ${ms(s.p99Ms)} | ${s.socketErrors} |`);
    console.log(`router/nginx requests/s: ${r.ratio.toFixed(2)} (goal ≥ ${GOALS.minRatio}: ${verdict(r.ratio >= GOALS.minRatio)}); ` + `p99 router/nginx: ${r.p99Ratio.toFixed(2)} (goal ≤ ${GOALS.maxP99Ratio}: ${verdict(r.p99Ratio <= GOALS.maxP99Ratio)})`);
  }
}

/** One table of every N and connection count, to paste into docs/benchmarks.md. */
export function printMarkdown(all: Row[]): void {
  console.log('| N | connections | direct req/s | nginx req/s | router req/s | router/nginx | nginx p99 | router p99 | p99 router/nginx |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of all) {
    const cells = [r.workers, r.connections, rps(r.direct.rps), rps(r.nginx.rps), rps(r.router.rps), `**${r.ratio.toFixed(2)}**`, ms(r.nginx.p99Ms), ms(r.router.p99Ms), `**${r.p99Ratio.toFixed(2)}**`];
    console.log(`| ${cells.join(' | ')} |`);
  }
}

/** The goal lines; true if every goal is met. */
export function printGoals(all: Row[]): boolean {
  const missed = all.filter((r) => r.ratio < GOALS.minRatio || r.p99Ratio > GOALS.maxP99Ratio);
  console.log(`\nGoals (issue 12), at every N and connection count: router/nginx requests/s ≥ ${GOALS.minRatio}, p99 router/nginx ≤ ${GOALS.maxP99Ratio}.`);
  if (missed.length === 0) console.log('All met.');
  for (const r of missed) console.log(`MISSED at N=${r.workers}, ${r.connections} connections: ratio ${r.ratio.toFixed(2)}, p99 ratio ${r.p99Ratio.toFixed(2)}`);
  return missed.length === 0;
}
