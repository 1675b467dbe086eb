// bench:sandbox — what the bubblewrap sandbox costs a dyno, next to the same dyno with the uid alone
// (the fallback without bubblewrap), measured side by side in one run on the process runtime:
// the time from start() until the dyno accepts a connection, and the memory of the processes the
// sandbox adds (bwrap's monitor and its PID 1), read from /proc. Needs root for the per-app uid and
// the overlay; without root both columns run as the current user. Loopback only; bounded rounds.
// As root it also measures the app network (issue 22), side by side with the host network: a dyno's
// start in its app's namespace, the namespace's set-up (once per app), and router throughput to a
// dyno with and without it (bench/lib/app-network.ts; BENCH_SECONDS per wrk run, default 5).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProcessRuntime } from '../server/runtime/process/runtime.js';
import { groupMembers } from '../server/sandbox/process-groups.js';
import type { RunningDyno } from '../server/runtime/types.js';
import { waitUntilUp } from '../server/runtime/wait-port.js';
import { detectSandbox, type SandboxHost } from '../server/sandbox/host.js';
import { tempDir } from '../test/helpers/paas.js';
import { rssKiB } from '../test/helpers/procs.js';
import type { AppNetworks } from '../server/netns/networks.js';
import { benchNetworks, routerThroughput } from './lib/app-network.js';

const ROUNDS = Math.max(1, Math.min(100, Number(process.env.BENCH_ROUNDS) || 20));
const SECONDS = Math.max(1, Math.min(60, Number(process.env.BENCH_SECONDS) || 5));
const USER = process.getuid?.() === 0 ? { uid: 399_990, gid: 399_990 } : undefined;
const SERVER = "require('http').createServer((q, s) => s.end('ok')).listen(process.env.PORT);\n";

function slug(): string {
  const dir = tempDir('paas-bench-slug-');
  fs.writeFileSync(path.join(dir, 'server.js'), SERVER);
  if (USER) for (const f of [dir, path.join(dir, 'server.js')]) fs.chownSync(f, USER.uid, USER.gid);
  return dir;
}

/** RSS of the dyno's processes that are not the app's own node: what the sandbox adds. */
function overheadKiB(dyno: RunningDyno): number {
  const pids = groupMembers(Number(dyno.handle));
  const isNode = (pid: number) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('node');
    } catch {
      return false;
    }
  };
  return pids.filter((p) => !isNode(p)).reduce((sum, p) => sum + rssKiB(p), 0);
}

async function once(host: SandboxHost, scratchRoot: string, dir: string, networks?: AppNetworks): Promise<{ ms: number; kib: number }> {
  const rt = new ProcessRuntime({ sandbox: host, scratchRoot, networks });
  const t0 = performance.now();
  const dyno = await rt.start({ app: 'bench', name: 'web.1', slugDir: dir, command: 'node server.js', pathPrepend: [], user: USER, env: { DYNO: 'web.1' }, onLine: () => undefined });
  const up = await waitUntilUp(dyno, 10_000);
  const ms = performance.now() - t0;
  if (!up.ok) throw new Error(`the ${host.kind} dyno did not start: ${JSON.stringify(up)}`);
  const kib = overheadKiB(dyno);
  await rt.stop(dyno, 2000);
  return { ms, kib };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** As root: dyno start with and without the app network, the namespace's set-up, router throughput. */
async function appNetwork(sandboxed: SandboxHost, scratch: string, dir: string): Promise<void> {
  const { networks, close } = await benchNetworks();
  const runs = { net: [] as number[], host: [] as number[], setup: [] as number[] };
  try {
    await networks.forApp('bench'); // the app's namespace exists before its dynos start, as after its first build
    for (let i = 0; i < ROUNDS; i++) {
      runs.net.push((await once(sandboxed, scratch, dir, networks)).ms);
      runs.host.push((await once(sandboxed, scratch, dir)).ms);
      const t0 = performance.now();
      await networks.forApp(`fresh-${i}`);
      runs.setup.push(performance.now() - t0);
      await networks.remove('app', `fresh-${i}`);
    }
  } finally {
    await close();
  }
  const [net, host, setup] = [median(runs.net), median(runs.host), median(runs.setup)];
  console.log('\n| sandboxed dyno | start → listening, median ms |');
  console.log('| --- | ---: |');
  console.log(`| in its app's network namespace | ${net.toFixed(1)} |`);
  console.log(`| on the host's network | ${host.toFixed(1)} |`);
  console.log(`app network: +${(net - host).toFixed(1)} ms per dyno start (goal ≤ 50 ms); making an app's namespace (once per app, before its first build) ${setup.toFixed(1)} ms`);
  const rows = await routerThroughput(Math.min(ROUNDS, 10), SECONDS, 32);
  console.log(`\n| router → dyno, wrk 1 thread, 32 connections, ${SECONDS} s × ${rows[0].rps.length} rounds | requests/s, median | p99 ms, median |`);
  console.log('| --- | ---: | ---: |');
  for (const r of rows) console.log(`| ${r.label} | ${median(r.rps).toFixed(0)} | ${median(r.p99).toFixed(2)} |`);
  // This machine's load moves both legs by more than the difference: each round's two runs are
  // adjacent, so the median of the per-round ratios is the figure that holds still.
  const ratios = rows[0].rps.map((rps, i) => rps / rows[1].rps[i]);
  const cost = 1 - median(ratios);
  console.log(`per-round ratios app / host network: ${ratios.map((r) => r.toFixed(2)).join(', ')}`);
  console.log(`app network: ${(cost * 100).toFixed(1)} % of router throughput, median of the per-round ratios (goal ≤ 15 %)`);
}

async function main(): Promise<void> {
  const sandboxed = detectSandbox();
  if (sandboxed.kind !== 'bwrap') throw new Error('bubblewrap is not usable here: install it (apt-get install bubblewrap) to measure the sandbox.');
  const uidOnly: SandboxHost = { ...sandboxed, kind: 'none', warnings: [] };
  const scratch = tempDir('paas-bench-scratch-');
  fs.chmodSync(scratch, 0o711);
  const dir = slug();
  const results = { bwrap: { ms: [] as number[], kib: [] as number[] }, none: { ms: [] as number[], kib: [] as number[] } };
  // Interleaved, so both columns see the same machine load.
  for (let i = 0; i < ROUNDS; i++) {
    for (const host of [sandboxed, uidOnly]) {
      const r = await once(host, scratch, dir);
      results[host.kind].ms.push(r.ms);
      results[host.kind].kib.push(r.kib);
    }
  }
  const b = { ms: median(results.bwrap.ms), mib: median(results.bwrap.kib) / 1024 };
  const n = { ms: median(results.none.ms), mib: median(results.none.kib) / 1024 };
  console.log(`bench:sandbox: ${ROUNDS} rounds, ${USER ? 'as root (app uid, overlay)' : 'not root'}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${new Date().toISOString()}`);
  console.log('| dyno | start → listening, median ms | memory besides the app, median MiB |');
  console.log('| --- | ---: | ---: |');
  console.log(`| sandboxed (bubblewrap) | ${b.ms.toFixed(1)} | ${b.mib.toFixed(2)} |`);
  console.log(`| uid only (no bubblewrap) | ${n.ms.toFixed(1)} | ${n.mib.toFixed(2)} |`);
  console.log(`start-up ratio sandboxed / uid only (medians) = ${(b.ms / n.ms).toFixed(2)}; the sandbox adds ${(b.mib - n.mib).toFixed(2)} MiB per dyno`);
  if (USER) await appNetwork(sandboxed, scratch, dir);
  else console.log('not root: no app network to measure (it needs root)');
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
