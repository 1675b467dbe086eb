// bench:limits — whether a hostile dyno at its limits slows the platform down: the p50 and p99 latency
// of the API (GET /v1/apps) and of another app through the router, while the hostile app forks 5,000
// processes, fills /tmp or /app, or allocates 4 GB again and again, side by side with the same
// measurement while it does nothing. Goal (issue 22): p99 ≤ 100 ms throughout. Process runtime, as
// root for the cgroups (without root the dyno is not limited and the figures say so). Loopback only;
// each leg lasts BENCH_SECONDS (default 10) and the legs run in BENCH_ROUNDS rounds (default 2).
import http from 'node:http';
import os from 'node:os';
import { envApp } from '../test/helpers/fixtures.js';
import { createApp, gitRepo, type Paas, push, startPaas } from '../test/helpers/paas.js';
import { hogApp } from '../test/security/hog-app.js';

const SECONDS = Math.max(1, Math.min(60, Number(process.env.BENCH_SECONDS) || 10));
const ROUNDS = Math.max(1, Math.min(10, Number(process.env.BENCH_ROUNDS) || 2));
/** The limits of every dyno on the bench server: small, so each attack reaches them at once. */
const LIMITS = { PAAS_DYNO_MEMORY: '128m', PAAS_DYNO_PIDS: '64', PAAS_DYNO_DISK: '32m' };
/** Each attack: the hostile app's path, asked again as soon as it answers (or fails) until the leg ends. */
const ATTACKS = { none: undefined, 'fork 5,000': 'fork', 'fill /tmp 2 GB': 'fill-tmp', 'fill /app 2 GB': 'fill-app', 'allocate 4 GB': 'allocate' } as const;
type Attack = keyof typeof ATTACKS;

/** One GET on a new connection; its time in ms, or undefined if it failed (counted apart). */
function timedGet(port: number, path: string, headers: Record<string, string>): Promise<number | undefined> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200 ? performance.now() - t0 : undefined));
    });
    req.on('error', () => resolve(undefined));
    req.setTimeout(5000, () => req.destroy());
  });
}

/** Asks `get` one request after another until `until`; the times, and how many failed. */
async function measure(get: () => Promise<number | undefined>, until: number): Promise<{ ms: number[]; failed: number }> {
  const ms: number[] = [];
  let failed = 0;
  while (performance.now() < until) {
    const t = await get();
    if (t === undefined) failed++;
    else ms.push(t);
    await new Promise((r) => setTimeout(r, 10));
  }
  return { ms, failed };
}

/** Keeps the hostile app at `path` until `until`: each attack again as soon as the last one is over. */
async function attack(paas: Paas, path: string, until: number): Promise<number> {
  let count = 0;
  const ask = (p: string) => timedGet(paas.routerPort, `/${p}`, { host: 'hog.localhost' });
  while (performance.now() < until) {
    count++;
    if (path !== 'fork') await ask(path);
    else {
      await ask('fork');
      // The fork attack answers at once and goes on in the dyno: wait for its end (/forked).
      while (performance.now() < until) {
        const done = await new Promise<boolean>((resolve) => {
          http.get({ host: '127.0.0.1', port: paas.routerPort, path: '/forked', headers: { host: 'hog.localhost' }, agent: false }, (res) => {
            let body = '';
            res.on('data', (d) => (body += d)).on('end', () => resolve(body !== '"pending"'));
          }).on('error', () => resolve(true));
        });
        if (done) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return count;
}

const pct = (xs: number[], p: number) => ([...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? NaN);

async function main(): Promise<void> {
  const paas = await startPaas(LIMITS);
  try {
    for (const app of ['hog', 'bystander']) await createApp(paas, app);
    for (const [app, files] of [['bystander', envApp('bystander')], ['hog', hogApp]] as const) {
      const r = await push(paas, await gitRepo(paas, files), app);
      if (r.code !== 0) throw new Error(`push of ${app} failed:\n${r.stderr}`);
    }
    const api = new URL(paas.apiUrl);
    const results = new Map<Attack, { api: number[]; app: number[]; failed: number; attacks: number }>();
    // Interleaved rounds, so machine noise falls on every leg alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, path] of Object.entries(ATTACKS) as [Attack, string | undefined][]) {
        const until = performance.now() + SECONDS * 1000;
        const [a, b, attacks] = await Promise.all([
          measure(() => timedGet(Number(api.port), '/v1/apps', { authorization: `Bearer ${paas.token}` }), until),
          measure(() => timedGet(paas.routerPort, '/', { host: 'bystander.localhost' }), until),
          path ? attack(paas, path, until) : Promise.resolve(0),
        ]);
        const r = results.get(name) ?? { api: [], app: [], failed: 0, attacks: 0 };
        results.set(name, { api: [...r.api, ...a.ms], app: [...r.app, ...b.ms], failed: r.failed + a.failed + b.failed, attacks: r.attacks + attacks });
        // Let a dyno the last attack killed come back before the next leg.
        await new Promise((r) => setTimeout(r, 3000));
      }
    }
    const root = process.getuid?.() === 0;
    console.log(`bench:limits: ${ROUNDS} rounds of ${SECONDS} s per leg, process runtime, ${root ? 'as root (cgroups)' : 'NOT root: dynos unlimited'}, limits ${JSON.stringify(LIMITS)}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${new Date().toISOString()}`);
    console.log('| hostile dyno | attacks | API p50 ms | API p99 ms | other app p50 ms | other app p99 ms | requests | failed |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const [name, r] of results) {
      const f = (xs: number[], p: number) => pct(xs, p).toFixed(1);
      console.log(`| ${name} | ${r.attacks} | ${f(r.api, 50)} | ${f(r.api, 99)} | ${f(r.app, 50)} | ${f(r.app, 99)} | ${r.api.length + r.app.length} | ${r.failed} |`);
    }
    const worst = Math.max(...[...results.values()].flatMap((r) => [pct(r.api, 99), pct(r.app, 99)]));
    console.log(`worst p99 of the API and the other app across every leg: ${worst.toFixed(1)} ms (goal ≤ 100 ms)`);
  } finally {
    await paas.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
