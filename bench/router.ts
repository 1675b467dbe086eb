// bench:router — the paas router against nginx in front of the same dyno, and the dyno on its own, with
// wrk (one thread, keep-alive) at 32 and 256 connections, for N=1 worker and N=all cores, the router's
// logging on. Goals (issue 12): router/nginx requests/s ≥ 0.5 and p99 no worse than 2× nginx's, at
// every N. The legs are interleaved, round after round, so machine noise falls on all of them alike.
// Needs wrk and nginx from Debian's packages; installs nothing. Loopback only; every run bounded.
// Rounds: BENCH_ROUNDS (default 3); seconds per measured run: BENCH_SECONDS (default 5).
// The HTTPS leg (issue 25, bench/lib/router-tls.ts) runs after the HTTP legs; BENCH_LEGS=http or
// BENCH_LEGS=https runs one of them alone.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sh, tempDir } from '../test/helpers/paas.js';
import { startNginx } from './lib/nginx.js';
import { startPaasSide, HELLO, HOST, type PaasSide } from './lib/paas-side.js';
import { type Daemon, findExecutable, freePort, waitForOk } from './lib/proc.js';
import { type LegKind, legKey, printGoals, printMarkdown, printTables, rows, type Samples } from './lib/router-report.js';
import { measureTls, printTls } from './lib/router-tls.js';
import { runWrk, warmUp } from './lib/wrk.js';

const ROUNDS = Math.max(1, Math.min(20, Number(process.env.BENCH_ROUNDS) || 3));
const SECONDS = Math.max(1, Math.min(60, Number(process.env.BENCH_SECONDS) || 5));
const WARMUP_SECONDS = 1;
const CONNECTIONS = [32, 256];
const CORES = os.availableParallelism();
const WORKERS = [...new Set([1, CORES])];
const LEGS = process.env.BENCH_LEGS ?? 'http,https';
/** Connections at once in the new-handshake run: enough to keep every worker busy with handshakes. */
const HANDSHAKE_CONNECTIONS = 32;

/** wrk and nginx, or exits saying which is missing and how to install it. */
function tools(): { wrk: string; nginx: string } {
  const wrk = findExecutable('wrk');
  const nginx = findExecutable('nginx');
  if (wrk && nginx) return { wrk, nginx };
  const missing = [...(wrk ? [] : [['wrk', 'wrk']]), ...(nginx ? [] : [['nginx', 'nginx-light']])];
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  console.error(`bench:router needs ${missing.map(([cmd]) => cmd).join(' and ')}, not found on PATH or in /usr/sbin. It installs nothing itself.`);
  console.error(`Install with: ${sudo}apt-get install ${missing.map(([, pkg]) => pkg).join(' ')}`);
  process.exit(1);
}

async function firstLine(cmd: string, args: string[]): Promise<string> {
  const r = await sh(cmd, args);
  return `${r.stdout}${r.stderr}`.split('\n')[0].trim();
}

async function machine(t: { wrk: string; nginx: string }): Promise<string> {
  const osName = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(fs.existsSync('/etc/os-release') ? fs.readFileSync('/etc/os-release', 'utf8') : '')?.[1] ?? os.type();
  const nginx = (await firstLine(t.nginx, ['-v'])).replace(/^nginx version:\s*/, '');
  const wrk = (await firstLine(t.wrk, ['-v'])).replace(/\s*Copyright.*$/, '');
  const mem = (os.totalmem() / 2 ** 30).toFixed(0);
  return `Machine: ${CORES} × ${os.cpus()[0]?.model.trim() ?? 'cpu'}, ${mem} GiB, ${osName}, Node ${process.version}, ${nginx}, ${wrk}. Date: ${new Date().toISOString()}. ${ROUNDS} rounds, each leg ${SECONDS} s after a ${WARMUP_SECONDS} s warm-up.`;
}

interface Leg {
  kind: LegKind;
  workers: number;
  port: number;
  name: string;
}

function legs(side: PaasSide, nginxPorts: Map<number, number>): Leg[] {
  const out: Leg[] = [{ kind: 'direct', workers: 0, port: side.dynoPort, name: 'direct' }];
  for (const n of WORKERS) {
    out.push({ kind: 'nginx', workers: n, port: nginxPorts.get(n)!, name: `nginx N=${n}` });
    out.push({ kind: 'router', workers: n, port: side.routerPort(n), name: `router N=${n}` });
  }
  return out;
}

async function measure(t: { wrk: string }, all: Leg[], signal: AbortSignal): Promise<Samples> {
  const samples: Samples = new Map();
  for (let round = 0; round < ROUNDS; round++) {
    for (const connections of CONNECTIONS) {
      // A different leg goes first each round, so none always follows the same neighbour.
      const order = all.map((_, i) => all[(i + round) % all.length]);
      for (const leg of order) {
        const run = { wrk: t.wrk, port: leg.port, host: HOST, connections };
        await warmUp({ ...run, seconds: WARMUP_SECONDS }, signal);
        const r = await runWrk({ ...run, seconds: SECONDS }, signal);
        const key = legKey(leg.kind, leg.workers, connections);
        samples.set(key, [...(samples.get(key) ?? []), r]);
        const errors = r.socketErrors ? `, ${r.socketErrorsText}` : '';
        console.error(`round ${round + 1}/${ROUNDS}, ${connections} connections, ${leg.name}: ${r.requestsPerSec.toFixed(0)} req/s, p99 ${r.p99Ms.toFixed(2)} ms${errors}`);
      }
    }
  }
  return samples;
}

async function main(signal: AbortSignal): Promise<void> {
  const t = tools();
  const about = await machine(t);
  console.error('bench:router: starting paas (control plane, hello app, routers) and nginx');
  const side = await startPaasSide(WORKERS, signal);
  const nginxes: Daemon[] = [];
  try {
    const nginxPorts = new Map<number, number>();
    const dir = tempDir('paas-bench-nginx-');
    for (const n of WORKERS) {
      const port = await freePort();
      const daemon = startNginx(t.nginx, { workers: n, listenPort: port, upstreamPort: side.dynoPort }, path.join(dir, `n${n}`));
      nginxes.push(daemon);
      nginxPorts.set(n, port);
      await waitForOk(`nginx (${n} workers)`, port, HOST, HELLO, signal, 10_000, daemon);
    }
    console.log(`bench:router (issues 12 and 25). ${about}`);
    if (LEGS.includes('http,') || LEGS === 'http') {
      const samples = await measure(t, legs(side, nginxPorts), signal);
      const routerLabel = (n: number) => `paas router, ${n} worker${n === 1 ? '' : 's'}, logging on`;
      const all = rows(samples, WORKERS, CONNECTIONS);
      printTables(all, routerLabel);
      console.log('\nFor docs/benchmarks.md (router: `paas router`, logging on):\n');
      printMarkdown(all);
      printGoals(all);
    }
    if (LEGS.includes('https')) {
      const tlsOpts = { dynoPort: side.dynoPort, workerCounts: WORKERS, connections: CONNECTIONS, handshakeConnections: HANDSHAKE_CONNECTIONS, rounds: ROUNDS, seconds: SECONDS, warmup: WARMUP_SECONDS };
      printTls(await measureTls(t, tlsOpts, signal), WORKERS, CONNECTIONS, HANDSHAKE_CONNECTIONS);
    }
  } finally {
    await Promise.all(nginxes.map((d) => d.stop()));
    await side.stop();
  }
}

// Ctrl-C (or SIGTERM) stops the run where it is and still cleans up (routers, nginx, the server and its
// dyno, temp dirs); a second one exits at once, and the helpers' exit hooks SIGKILL what is left.
const abort = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (abort.signal.aborted) process.exit(130);
    console.error(`${sig}: stopping; again to exit at once`);
    abort.abort(new Error(`interrupted by ${sig}`));
  });
}

main(abort.signal).then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
