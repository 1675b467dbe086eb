// bench:logs — the log pipeline under a dyno that prints as fast as it can, and under a steady
// 20,000 lines/s (issue 13). One real server (process runtime, temp data dir), one dyno whose web
// process floods or paces its stdout when asked through the router; consumers are one
// `logs --tail` websocket and one HTTP drain (a logplex receiver here), both on loopback.
// Measured in one run: the dyno's own rate with no consumer, with both consumers, what each
// consumer got and lost (every line carries a sequence number; an L10 line counts as loss
// reported), and at 20,000 lines/s the p99 latency from print to tail. Every phase is bounded.
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { WebSocket } from 'ws';
import { connectDocker, instanceId } from '../server/docker/engine.js';
import { dockerTestEnv, removeInstance } from '../test/helpers/docker.js';
import { apiCall, createApp, gitRepo, type Paas, push, startPaas, viaRouter } from '../test/helpers/paas.js';

const APP = 'bench-logs';
const SECONDS = Math.max(1, Math.min(30, Number(process.env.BENCH_SECONDS) || 5));

// /flood?s=5 prints `seq=N t=MS` lines as fast as it can for s seconds (one write per 100 lines,
// as a busy app's logger batches); /steady?rate=R&s=5 prints R lines/s in 10 ms ticks. Both
// answer with how many lines they printed and for how long.
const dyno = {
  Procfile: 'web: exec node server.js\n',
  'server.js': `
const http = require('http');
let seq = 0;
function batch(n) { let s = ''; const t = Date.now(); for (let i = 0; i < n; i++) s += 'seq=' + (seq++) + ' t=' + t + '\\n'; return s; }
http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  const ms = Number(u.searchParams.get('s') || 5) * 1000;
  const start = Date.now();
  const from = seq;
  if (u.pathname === '/flood') {
    while (Date.now() - start < ms) require('fs').writeSync(1, batch(100));
    return res.end(JSON.stringify({ from, lines: seq - from, ms: Date.now() - start }));
  }
  if (u.pathname === '/steady') {
    const per = Number(u.searchParams.get('rate')) / 100;
    let ticks = 0;
    const timer = setInterval(() => {
      const due = Math.min(ms / 10, Math.floor((Date.now() - start) / 10) + 1);
      while (ticks < due) { require('fs').writeSync(1, batch(per)); ticks++; }
      if (ticks >= ms / 10) { clearInterval(timer); res.end(JSON.stringify({ from, lines: seq - from, ms: Date.now() - start })); }
    }, 10);
    return;
  }
  res.end('ok');
}).listen(process.env.PORT);
process.on('SIGTERM', () => process.exit(0));
`,
};

// What a consumer got, kept without garbage: a bench process holding a Set of a million sequence
// numbers paused for its own collector, fell behind, and made the pipeline drop lines for it.
interface Got {
  seen: Uint8Array;
  l10: number;
  /** Print→receipt latencies (ms) of the steady phase; the flood's are not kept. */
  latencies: number[];
  keepLatency: boolean;
}
const MAX_SEQ = 1 << 25;
const fresh = (keepLatency = false): Got => ({ seen: new Uint8Array(MAX_SEQ), l10: 0, latencies: [], keepLatency });

function record(got: Got, line: string, now: number): void {
  if (line.startsWith('seq=')) {
    const space = line.indexOf(' ', 4);
    const seq = Number(line.slice(4, space));
    if (seq < MAX_SEQ) got.seen[seq] = 1;
    if (got.keepLatency) got.latencies.push(now - Number(line.slice(space + 3)));
  } else if (line.startsWith('Error L10')) got.l10++;
}

/** A `paas logs --tail` client on the API's websocket, app lines only. */
async function tail(paas: Paas, got: () => Got): Promise<WebSocket> {
  const url = `${paas.apiUrl.replace(/^http/, 'ws')}/v1/apps/${APP}/logs/stream?lines=1`;
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${paas.token}` } });
  ws.on('message', (data) => {
    const now = Date.now();
    for (const l of JSON.parse(String(data)) as { line: string }[]) record(got(), l.line, now);
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return ws;
}

/** An HTTP drain receiver: parses Heroku's logplex framing (octet-counted RFC 5424 messages). */
async function drain(got: () => Got): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const now = Date.now();
      let body = Buffer.concat(chunks);
      while (body.length) {
        const sp = body.indexOf(0x20);
        const len = Number(body.subarray(0, sp).toString());
        const msg = body.subarray(sp + 1, sp + 1 + len).toString();
        body = body.subarray(sp + 1 + len);
        // <PRI>1 TIMESTAMP HOST APP PROCID - - MSG
        record(got(), msg.split(' ').slice(7).join(' '), now);
      }
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/logs` };
}

async function trigger(paas: Paas, path: string): Promise<{ from: number; lines: number; ms: number }> {
  const res = await viaRouter(paas, `${APP}.localhost`, path);
  if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${res.body.slice(0, 200)}`);
  return JSON.parse(res.body) as { from: number; lines: number; ms: number };
}

const settle = () => new Promise((r) => setTimeout(r, 2000));
const rate = (lines: number, ms: number) => Math.round(lines / (ms / 1000));
const p99 = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)] : NaN);
function delivered(got: Got, run: { from: number; lines: number }): { lines: number; lost: number } {
  let n = 0;
  for (let s = run.from; s < run.from + run.lines; s++) n += got.seen[s] ?? 0;
  return { lines: n, lost: run.lines - n };
}

/** BENCH_PROFILE_DIR=dir writes a CPU profile of the server (and its router workers) there. */
function profileEnv(): Record<string, string> {
  const dir = process.env.BENCH_PROFILE_DIR;
  return dir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}` } : {};
}

/** BENCH_RUNTIME=docker runs the dyno as a container (the stack image must be built). */
const DOCKER = process.env.BENCH_RUNTIME === 'docker';

async function main(): Promise<void> {
  const paas = await startPaas({ ...profileEnv(), ...(DOCKER ? dockerTestEnv() : {}) }, { outputLimit: 100_000 });
  try {
    await createApp(paas, APP);
    const pushed = await push(paas, await gitRepo(paas, dyno), APP);
    if (pushed.code !== 0) throw new Error(`push failed:\n${pushed.stderr}`);
    const up = await viaRouter(paas, `${APP}.localhost`);
    if (up.status !== 200) throw new Error(`the app answered ${up.status}`);

    const alone = await trigger(paas, `/flood?s=${SECONDS}`);
    await settle();

    let tailGot = fresh();
    let drainGot = fresh();
    const ws = await tail(paas, () => tailGot);
    const receiver = await drain(() => drainGot);
    const added = await apiCall(paas, 'POST', `/v1/apps/${APP}/drains`, { url: receiver.url });
    if (added.status !== 201) throw new Error(`adding the drain answered ${added.status}: ${JSON.stringify(added.json)}`);
    await settle();
    tailGot = fresh();
    drainGot = fresh();
    const flood = await trigger(paas, `/flood?s=${SECONDS}`);
    await settle();
    const floodTail = delivered(tailGot, flood);
    const floodDrain = delivered(drainGot, flood);
    const floodL10 = { tail: tailGot.l10, drain: drainGot.l10 };

    tailGot = fresh(true);
    drainGot = fresh(true);
    const steady = await trigger(paas, `/steady?rate=20000&s=${SECONDS}`);
    await settle();
    const steadyTail = delivered(tailGot, steady);
    const steadyDrain = delivered(drainGot, steady);
    ws.close();
    receiver.server.close();

    const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
    console.log(`bench:logs (issue 13). ${os.availableParallelism()} × ${cpu}, Node ${process.version}, ${new Date().toISOString()}. Runtime ${DOCKER ? 'docker' : 'process'}. Each phase ${SECONDS} s.\n`);
    console.log('| phase | dyno lines/s | tail lines/s (lost, L10) | drain lines/s (lost, L10) | p99 print→tail |');
    console.log('| --- | ---: | ---: | ---: | ---: |');
    console.log(`| flood, no consumer | ${rate(alone.lines, alone.ms)} | | | |`);
    console.log(
      `| flood, tail + drain | ${rate(flood.lines, flood.ms)} | ${rate(floodTail.lines, flood.ms)} (${floodTail.lost}, ${floodL10.tail}) | ${rate(floodDrain.lines, flood.ms)} (${floodDrain.lost}, ${floodL10.drain}) | |`,
    );
    console.log(
      `| 20,000 lines/s, tail + drain | ${rate(steady.lines, steady.ms)} | ${rate(steadyTail.lines, steady.ms)} (${steadyTail.lost}, ${tailGot.l10}) | ${rate(steadyDrain.lines, steady.ms)} (${steadyDrain.lost}, ${drainGot.l10}) | ${p99(tailGot.latencies)} ms |`,
    );
    const goals = [
      [`tail ≥ 50,000 lines/s with no loss while it keeps up`, rate(floodTail.lines, flood.ms) >= 50_000 && floodTail.lost === 0],
      [`at 20,000 lines/s: no loss`, steadyTail.lost === 0 && steadyDrain.lost === 0],
      [`at 20,000 lines/s: the dyno keeps its rate (≥ 95%)`, rate(steady.lines, steady.ms) >= 19_000],
      [`at 20,000 lines/s: p99 print→tail < 100 ms`, p99(tailGot.latencies) < 100],
    ] as const;
    console.log('\nGoals (issue 13):');
    for (const [what, met] of goals) console.log(`- ${what}: ${met ? 'met' : 'MISSED'}`);
  } finally {
    await paas.stop();
    if (DOCKER) await removeInstance(await connectDocker(), instanceId(paas.dataDir), [APP]);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
