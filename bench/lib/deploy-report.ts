// bench:deploy's table: per runtime and operation, the medians of the floor by hand, of the command
// returning and of the new state first served, their ratios to the floor, and issue 23's goal
// for the row with whether this run met it.
import os from 'node:os';
import type { Runtime, Timing } from './deploy-paas.js';

/** What one runtime's rounds measured (ms), one entry per round. */
export interface Figures {
  floor: { nodeps: number[]; express: number[] };
  push: { nodeps: Timing[]; express: Timing[] };
  rollback: Timing[];
  config: Timing[];
}

export function emptyFigures(): Figures {
  return { floor: { nodeps: [], express: [] }, push: { nodeps: [], express: [] }, rollback: [], config: [] };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const x = (ms: number, floor: number): string => `${(ms / floor).toFixed(1)}×`;
const verdict = (ok: boolean): string => (ok ? '**met**' : '**missed**');

interface Row {
  op: string;
  floor: number;
  returned: number;
  served: number;
  goal: string;
}

/** The goal of issue 23 for a row, and whether the medians meet it. */
function goal(runtime: Runtime, op: 'nodeps' | 'express' | 'rollback' | 'config', floor: number, returned: number, served: number, atReturn: boolean): string {
  if (runtime === 'docker') {
    // Issue 11/23's Docker goal was measured to the first 200 from the new code (docs/benchmarks.md).
    if (op === 'nodeps' || op === 'express') return `new code served ≤ 1.3× floor: ${verdict(served <= 1.3 * floor)}`;
    return '— (the 0.6 s goal is the process runtime\'s)';
  }
  if (op === 'nodeps') return `returned ≤ 3× and served ≤ 2× floor: ${verdict(returned <= 3 * floor && served <= 2 * floor)}`;
  if (op === 'express') return `push returned ≤ 4× floor: ${verdict(returned <= 4 * floor)}`;
  return `returned ≤ 0.60 s, serving by then: ${verdict(returned <= 600 && atReturn)}`;
}

function rows(runtime: Runtime, f: Figures): Row[] {
  const nodepsFloor = median(f.floor.nodeps);
  const expressFloor = median(f.floor.express);
  const ops = [
    ['nodeps', 'code-only push, no-dependency app (no lockfile)', nodepsFloor, f.push.nodeps],
    ['express', 'code-only push, express app (lockfile)', expressFloor, f.push.express],
    ['rollback', '`paas releases:rollback` (no-dep app; × its floor)', nodepsFloor, f.rollback],
    ['config', '`paas config:set BENCH_VALUE=…` (no-dep app; × its floor)', nodepsFloor, f.config],
  ] as const;
  return ops.map(([key, op, floor, timings]) => {
    const returned = median(timings.map((t) => t.returned));
    const served = median(timings.map((t) => t.served));
    return { op, floor, returned, served, goal: goal(runtime, key, floor, returned, served, timings.every((t) => t.atReturn)) };
  });
}

/** The heading line: rounds, machine, its load at the end (other work skews a floor of 0.1 s), Node, settle window, date. */
export function heading(rounds: number, cpus: string, settle: string): string {
  const load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
  return `bench:deploy: median of ${rounds} rounds, ${cpus}, load average ${load}, node ${process.version}, PAAS_SETTLE_MS ${settle}, ${new Date().toISOString()}`;
}

/** The table (Markdown) for the runtimes measured, and a line per runtime skipped with its reason. */
export function report(measured: Map<Runtime, Figures>, skipped: Map<Runtime, string>): string {
  const out = [
    '| runtime | operation | floor by hand | command returned | × floor | new state served | × floor | goal (issue 23) |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const [runtime, figures] of measured) {
    for (const r of rows(runtime, figures)) {
      out.push(`| ${runtime} | ${r.op} | ${s(r.floor)} | ${s(r.returned)} | ${x(r.returned, r.floor)} | ${s(r.served)} | ${x(r.served, r.floor)} | ${r.goal} |`);
    }
  }
  for (const [runtime, why] of skipped) out.push(`${runtime} runtime skipped: ${why}`);
  out.push(
    'floor by hand: process = git push to a bare repo + checkout + `node server.js` to its first 200; docker = `docker build` + `docker run` to its first 200.',
  );
  return out.join('\n');
}
