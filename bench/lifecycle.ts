// bench:lifecycle — how fast the server starts and stops, the two ways the README starts it, measured
// side by side in one run: `node bin/paas server` against `npm start` (start → both listeners up,
// then SIGTERM → exit, idle), and SIGTERM → exit of a server running three apps against an idle one
// (the price of draining and stopping dynos with their grace period). Rounds are interleaved so every
// column sees the same machine load. All traffic goes to 127.0.0.1; every wait is bounded.
// Rounds: BENCH_ROUNDS (default 5).
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import { once } from 'node:events';
import { BIN, createApp, gitRepo, type Paas, push, ROOT, spawnChild, startPaas, tempDir } from '../test/helpers/paas.js';

const ROUNDS = Math.max(1, Math.min(50, Number(process.env.BENCH_ROUNDS) || 5));
const LIMIT_MS = 60_000;
const APPS = 3;

const tinyApp = {
  Procfile: 'web: exec node server.js\n',
  'server.js': "require('http').createServer((q, s) => s.end('ok')).listen(process.env.PORT);\nprocess.on('SIGTERM', () => process.exit(0));\n",
};

/** Starts `argv` with a fresh data dir and times spawn → "router listening" on its output. */
async function timedStart(argv: string[]): Promise<{ ms: number; child: ChildProcess }> {
  const env = { PATH: process.env.PATH!, HOME: tempDir('paas-bench-home-'), PAAS_DATA_DIR: tempDir('paas-bench-data-'), PORT: '0', PAAS_ROUTER_PORT: '0', PAAS_ROUTER_TLS_PORT: '0', npm_config_update_notifier: 'false', PAAS_RUNTIME: 'process' };
  const t0 = performance.now();
  const child = spawnChild(argv[0], argv.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')} did not start within ${LIMIT_MS} ms:\n${out}`)), LIMIT_MS);
    child.stdout!.on('data', (d) => {
      out += String(d);
      if (out.includes('router listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', () => reject(new Error(`${argv.join(' ')} exited before listening:\n${out}`)));
  });
  return { ms: performance.now() - t0, child };
}

/** SIGTERM → exit, in ms. */
async function timedStop(child: ChildProcess): Promise<number> {
  const t0 = performance.now();
  const exited = once(child, 'exit', { signal: AbortSignal.timeout(LIMIT_MS) });
  child.kill('SIGTERM');
  await exited;
  return performance.now() - t0;
}

/** A server running APPS apps, one web dyno each. */
async function loadedServer(): Promise<Paas> {
  const paas = await startPaas();
  const dir = await gitRepo(paas, tinyApp);
  for (let i = 1; i <= APPS; i++) {
    await createApp(paas, `bench-${i}`);
    const r = await push(paas, dir, `bench-${i}`);
    if (r.code !== 0) throw new Error(`push of bench-${i} failed:\n${r.stderr}`);
  }
  return paas;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const cols = { nodeStart: [] as number[], npmStart: [] as number[], idleStop: [] as number[], npmStop: [] as number[], loadedStop: [] as number[] };
  for (let i = 0; i < ROUNDS; i++) {
    const direct = await timedStart([process.execPath, BIN, 'server']);
    cols.nodeStart.push(direct.ms);
    cols.idleStop.push(await timedStop(direct.child));
    const viaNpm = await timedStart(['npm', 'start']);
    cols.npmStart.push(viaNpm.ms);
    cols.npmStop.push(await timedStop(viaNpm.child));
    const loaded = await loadedServer();
    cols.loadedStop.push(await timedStop(loaded.proc));
  }
  const m = Object.fromEntries(Object.entries(cols).map(([k, v]) => [k, median(v)])) as Record<keyof typeof cols, number>;
  console.log(`bench:lifecycle: ${ROUNDS} rounds, ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${new Date().toISOString()}`);
  console.log('| measure | median ms |');
  console.log('| --- | ---: |');
  console.log(`| start → listening, node bin/paas server | ${m.nodeStart.toFixed(0)} |`);
  console.log(`| start → listening, npm start | ${m.npmStart.toFixed(0)} |`);
  console.log(`| SIGTERM → exit, idle, node bin/paas server | ${m.idleStop.toFixed(0)} |`);
  console.log(`| SIGTERM → exit, idle, npm start | ${m.npmStop.toFixed(0)} |`);
  console.log(`| SIGTERM → exit, ${APPS} apps running | ${m.loadedStop.toFixed(0)} |`);
  console.log(`ratio npm start / node (start) = ${(m.npmStart / m.nodeStart).toFixed(2)}; ratio ${APPS} apps / idle (stop) = ${(m.loadedStop / m.idleStop).toFixed(2)}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
