// bench:router's HTTPS leg (issue 25): the paas router's TLS listener against nginx's, both with the
// same certificate (ECDSA P-256, made here with openssl) in front of the same dyno; wrk keep-alive
// at each connection count, and a new-handshake rate (Connection: close, so every request is a new
// TLS connection). The routers are `paas router` processes fed by a route stream served from this
// process with the server's own Routes and RouteStream (certificates set with Routes.setCerts), so
// the leg needs no certificate commands; their log lines come back over it and are dropped here.
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Routes } from '../../server/dynos/routes.js';
import { RouteStream } from '../../server/http/route-stream.js';
import { BIN, tempDir } from '../../test/helpers/paas.js';
import { makeLeaf, makeTestCa } from '../../test/helpers/pki.js';
import { startNginx } from './nginx.js';
import { APP, DOMAIN, HOST } from './paas-side.js';
import { type Daemon, freePort, startDaemon } from './proc.js';
import { GOALS, type LegSummary, summary, type Samples } from './router-report.js';
import { runWrk, type WrkRun, warmUp } from './wrk.js';

const TOKEN = 'bench-router-tls';

interface TlsLeg {
  kind: 'nginx' | 'router';
  workers: number;
  port: number;
}

/** A request over HTTPS answers, once the server behind `port` is up; bounded. */
async function waitForTls(what: string, run: Omit<WrkRun, 'connections' | 'seconds'>, signal: AbortSignal, daemon: Daemon): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await runWrk({ ...run, connections: 1, seconds: 1 }, signal);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what} did not answer over HTTPS in 30 s: ${(err as Error).message}\n${daemon.output()}`, { cause: err });
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

/** Starts the route stream, nginx and a router per worker count, all HTTPS; resolves with the legs and their stop. */
async function start(t: { wrk: string; nginx: string }, dynoPort: number, workerCounts: number[], signal: AbortSignal): Promise<{ legs: TlsLeg[]; stop: () => Promise<void> }> {
  const dir = tempDir('paas-bench-tls-');
  makeTestCa(dir);
  // wrk sends the URL's host as SNI: 127.0.0.1. The router matches SNI as a string, so it is listed.
  const leaf = makeLeaf(dir, 'leaf', [HOST, '127.0.0.1']);
  const routes = new Routes();
  routes.addApp(APP);
  routes.setTargets(APP, [{ host: '127.0.0.1', port: dynoPort, dyno: 'web.1' }]);
  routes.setCerts([{ id: 'bench', hostnames: [HOST, '127.0.0.1'], ...leaf }]);
  const stream = new RouteStream({ routes, token: TOKEN, domain: DOMAIN, logs: { appendAll: () => undefined }, log: () => undefined });
  const api = http.createServer((_req, res) => res.writeHead(404).end());
  api.on('upgrade', stream.handleUpgrade);
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  const apiUrl = `http://127.0.0.1:${(api.address() as net.AddressInfo).port}`;
  const daemons: Daemon[] = [];
  const stop = async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    await stream.close();
    api.close();
  };
  try {
    const legs: TlsLeg[] = [];
    const tls = { certFile: path.join(dir, 'leaf.pem'), keyFile: path.join(dir, 'leaf.key') };
    for (const workers of workerCounts) {
      const nginxPort = await freePort();
      const nginx = startNginx(t.nginx, { workers, listenPort: nginxPort, upstreamPort: dynoPort, tls }, path.join(dir, `nginx${workers}`));
      daemons.push(nginx);
      await waitForTls(`nginx (${workers} workers)`, { wrk: t.wrk, port: nginxPort, host: HOST, scheme: 'https' }, signal, nginx);
      const routerPort = await freePort();
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, TMPDIR: os.tmpdir(), PAAS_API_URL: apiUrl, PAAS_API_TOKEN: TOKEN, PAAS_ROUTER_PORT: '0', PAAS_ROUTER_TLS_PORT: String(routerPort), PAAS_ROUTER_WORKERS: String(workers), PAAS_DOMAIN: DOMAIN, PAAS_BIND_HOST: '127.0.0.1' };
      const router = startDaemon(process.execPath, [BIN, 'router'], env);
      daemons.push(router);
      await waitForTls(`paas router (${workers} workers)`, { wrk: t.wrk, port: routerPort, host: HOST, scheme: 'https' }, signal, router);
      legs.push({ kind: 'nginx', workers, port: nginxPort }, { kind: 'router', workers, port: routerPort });
    }
    return { legs, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

const key = (leg: TlsLeg, connections: number | 'handshake') => `${leg.kind}:${leg.workers}:${connections}`;

/**
 * Runs the HTTPS leg: `rounds` rounds, each leg interleaved as in the HTTP legs, keep-alive at each
 * of `connections`, then `handshakeConnections` connections each making one request per handshake.
 */
export async function measureTls(
  t: { wrk: string; nginx: string },
  opts: { dynoPort: number; workerCounts: number[]; connections: number[]; handshakeConnections: number; rounds: number; seconds: number; warmup: number },
  signal: AbortSignal,
): Promise<Samples> {
  const { legs, stop } = await start(t, opts.dynoPort, opts.workerCounts, signal);
  const samples: Samples = new Map();
  try {
    for (let round = 0; round < opts.rounds; round++) {
      for (const c of [...opts.connections, 'handshake' as const]) {
        const order = legs.map((_, i) => legs[(i + round) % legs.length]);
        for (const leg of order) {
          const run = { wrk: t.wrk, port: leg.port, host: HOST, scheme: 'https' as const, connections: c === 'handshake' ? opts.handshakeConnections : c, close: c === 'handshake' };
          await warmUp({ ...run, seconds: opts.warmup }, signal);
          const r = await runWrk({ ...run, seconds: opts.seconds }, signal);
          samples.set(key(leg, c), [...(samples.get(key(leg, c)) ?? []), r]);
          const what = c === 'handshake' ? `new connection per request (${run.connections} at once)` : `${c} connections`;
          console.error(`HTTPS round ${round + 1}/${opts.rounds}, ${what}, ${leg.kind} N=${leg.workers}: ${r.requestsPerSec.toFixed(0)} req/s, p99 ${r.p99Ms.toFixed(2)} ms`);
        }
      }
    }
  } finally {
    await stop();
  }
  return samples;
}

const ms = (n: number) => `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms`;

/** The HTTPS tables: keep-alive rows against the goals, then handshakes per second. Returns whether every goal was met. */
export function printTls(samples: Samples, workerCounts: number[], connections: number[], handshakeConnections: number): boolean {
  const pair = (n: number, c: number | 'handshake'): [LegSummary, LegSummary] => [summary(samples, `nginx:${n}:${c}`), summary(samples, `router:${n}:${c}`)];
  let met = true;
  console.log('\nHTTPS (same ECDSA P-256 certificate, TLS 1.3 as negotiated by wrk), keep-alive:\n');
  console.log('| N | connections | nginx req/s | router req/s | router/nginx | nginx p99 | router p99 | p99 router/nginx |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const n of workerCounts) {
    for (const c of connections) {
      const [nginx, router] = pair(n, c);
      const ratio = router.rps / nginx.rps;
      const p99 = router.p99Ms / nginx.p99Ms;
      met &&= ratio >= GOALS.minRatio && p99 <= GOALS.maxP99Ratio;
      console.log(`| ${n} | ${c} | ${nginx.rps.toFixed(0)} | ${router.rps.toFixed(0)} | **${ratio.toFixed(2)}** | ${ms(nginx.p99Ms)} | ${ms(router.p99Ms)} | **${p99.toFixed(2)}** |`);
    }
  }
  console.log(`\nHTTPS new handshakes (Connection: close, ${handshakeConnections} connections at once; one request per TLS connection):\n`);
  console.log('| N | nginx handshakes/s | router handshakes/s | router/nginx | nginx p99 | router p99 |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const n of workerCounts) {
    const [nginx, router] = pair(n, 'handshake');
    console.log(`| ${n} | ${nginx.rps.toFixed(0)} | ${router.rps.toFixed(0)} | **${(router.rps / nginx.rps).toFixed(2)}** | ${ms(nginx.p99Ms)} | ${ms(router.p99Ms)} |`);
  }
  console.log(`\nHTTPS goals (issue 25), keep-alive, every N and connection count: router/nginx requests/s ≥ ${GOALS.minRatio}, p99 ≤ ${GOALS.maxP99Ratio}× nginx's: ${met ? 'all met' : 'MISSED (see the table)'}.`);
  return met;
}
