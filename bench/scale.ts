// bench:scale — how long `ps:scale web=1→8` takes until all 8 web dynos answer through the router,
// next to the time to boot one more dyno (web=1→2) in the same run, through the same API and the real
// server on the process runtime. Also what each of the 8 dynos costs in memory: the app's own node
// next to the platform's processes around it (the sandbox). Goal (issue 10): 1→8 within
// ⌈8 / cores⌉ × one boot + 0.5 s. Loopback only; every wait bounded. Rounds: BENCH_ROUNDS (default 5).
import fs from 'node:fs';
import os from 'node:os';
import { apiCall, createApp, gitRepo, type Paas, push, startPaas, viaRouter } from '../test/helpers/paas.js';
import { descendants, rssKiB } from '../test/helpers/procs.js';

const ROUNDS = Math.max(1, Math.min(20, Number(process.env.BENCH_ROUNDS) || 5));
const LIMIT_MS = 60_000;
const APP = 'bench-scale';

const app = {
  Procfile: 'web: exec node server.js\n',
  'server.js': "require('http').createServer((q, s) => s.end(process.env.DYNO)).listen(process.env.PORT);\nprocess.on('SIGTERM', () => process.exit(0));\n",
};

/** Scales web to `n` and waits until the router has answered from each of web.1 … web.n; returns ms. */
async function scaleTo(paas: Paas, n: number): Promise<number> {
  const t0 = performance.now();
  const r = await apiCall(paas, 'PATCH', `/v1/apps/${APP}/formation`, { updates: [{ type: 'web', quantity: n }] });
  if (r.status !== 200) throw new Error(`scaling to ${n} answered ${r.status}: ${JSON.stringify(r.json)}`);
  const seen = new Set<string>();
  while (seen.size < n) {
    if (performance.now() - t0 > LIMIT_MS) throw new Error(`only ${seen.size} of ${n} dynos answered within ${LIMIT_MS} ms`);
    const res = await viaRouter(paas, `${APP}.localhost`);
    if (res.status === 200) seen.add(res.body);
  }
  return performance.now() - t0;
}

/** Resident memory of the app's own processes and of the platform's around them (bwrap), per dyno. */
function memoryPerDyno(paas: Paas, dynos: number): { app: number; platform: number } {
  let app = 0;
  let platform = 0;
  for (const p of descendants(paas.proc.pid)) {
    let env: string;
    try {
      env = fs.readFileSync(`/proc/${p.pid}/environ`, 'utf8');
    } catch {
      continue;
    }
    if (env.includes(`PAAS_APP_NAME=${APP}\0`)) app += rssKiB(p.pid);
    else if (/^(\S*\/)?bwrap( |$)/.test(p.cmdline)) platform += rssKiB(p.pid);
  }
  return { app: app / dynos / 1024, platform: platform / dynos / 1024 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const paas = await startPaas({ PAAS_SETTLE_MS: '500' });
  await createApp(paas, APP);
  const pushed = await push(paas, await gitRepo(paas, app), APP);
  if (pushed.code !== 0) throw new Error(`push failed:\n${pushed.stderr}`);
  const one: number[] = [];
  const eight: number[] = [];
  const mem: { app: number; platform: number }[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    one.push(await scaleTo(paas, 2));
    await scaleTo(paas, 1);
    eight.push(await scaleTo(paas, 8));
    mem.push(memoryPerDyno(paas, 8));
    await scaleTo(paas, 1);
  }
  await paas.stop();
  const cores = os.cpus().length;
  const boot = median(one);
  const all = median(eight);
  const goal = Math.ceil(8 / cores) * boot + 500;
  console.log(`bench:scale: ${ROUNDS} rounds, ${cores} x ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${new Date().toISOString()}`);
  console.log('| measure | median |');
  console.log('| --- | ---: |');
  console.log(`| one more dyno (web=1→2) until it answers | ${boot.toFixed(0)} ms |`);
  console.log(`| web=1→8 until all 8 answer | ${all.toFixed(0)} ms |`);
  console.log(`| memory per dyno: the app's own processes | ${median(mem.map((m) => m.app)).toFixed(1)} MiB |`);
  console.log(`| memory per dyno: the platform's (sandbox) | ${median(mem.map((m) => m.platform)).toFixed(1)} MiB |`);
  console.log(`ratio 1→8 / one boot = ${(all / boot).toFixed(2)}; goal ⌈8/${cores}⌉ × ${boot.toFixed(0)} + 500 = ${goal.toFixed(0)} ms: ${all <= goal ? 'met' : 'missed'}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
