// The paas half of bench:router: a control plane with a hello-world app pushed to it (so the dyno is a
// real paas dyno, on the process runtime), and a paas router per worker count, each a separate
// `paas router` process fed by the control plane's route stream, with its default logging on (router
// log lines flow back to the control plane).
import os from 'node:os';
import { apiCall, BIN, createApp, gitRepo, type Paas, push, startPaas } from '../../test/helpers/paas.js';
import { type Daemon, freePort, startDaemon, waitForOk } from './proc.js';

export const APP = 'bench-router';
export const DOMAIN = 'localhost';
export const HOST = `${APP}.${DOMAIN}`;
export const HELLO = 'hello world';

const helloApp = {
  Procfile: 'web: node server.js\n',
  'server.js': `require('http').createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(${JSON.stringify(HELLO)});
}).listen(process.env.PORT);
process.on('SIGTERM', () => process.exit(0));
`,
};

export interface PaasSide {
  dynoPort: number;
  /** The port of the router with `workers` worker processes. */
  routerPort(workers: number): number;
  stop(): Promise<void>;
}

interface DynoInfo {
  name: string;
  state: string;
  port: number | null;
}

/** The web dyno's port, once the API lists it up. */
async function dynoPort(paas: Paas, signal: AbortSignal): Promise<number> {
  for (let i = 0; ; i++) {
    signal.throwIfAborted();
    const r = await apiCall(paas, 'GET', `/v1/apps/${APP}`);
    const dynos = (r.json as { dynos?: DynoInfo[] } | undefined)?.dynos ?? [];
    const web = dynos.find((d) => d.name.startsWith('web.') && d.state === 'up' && d.port);
    if (web?.port) return web.port;
    if (i > 300) throw new Error(`no web dyno up after the push: ${JSON.stringify(r.json)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function startRouter(paas: Paas, port: number, workers: number): Daemon {
  return startDaemon(process.execPath, [BIN, 'router'], {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: paas.home,
    TMPDIR: os.tmpdir(),
    PAAS_API_URL: paas.apiUrl,
    PAAS_API_TOKEN: paas.token,
    PAAS_ROUTER_PORT: String(port),
    PAAS_ROUTER_TLS_PORT: '0',
    PAAS_ROUTER_WORKERS: String(workers),
    PAAS_DOMAIN: DOMAIN,
    PAAS_BIND_HOST: '127.0.0.1',
  });
}

/** Starts the control plane, deploys the hello app, and starts a router for each of `workerCounts`. */
export async function startPaasSide(workerCounts: number[], signal: AbortSignal): Promise<PaasSide> {
  // As root, dynos get a network of their own and the direct legs cannot reach them at 127.0.0.1:
  // PAAS_APP_NETWORKS=off (passed on from the bench's environment) keeps them on the host's loopback.
  const networks: Record<string, string> = process.env.PAAS_APP_NETWORKS ? { PAAS_APP_NETWORKS: process.env.PAAS_APP_NETWORKS } : {};
  // The server prints every router log line: keep only the end of its output, as bench:logs does (a
  // string of all of it grows by megabytes a second, and the GC of it ran only during router legs).
  const paas = await startPaas({ PAAS_DOMAIN: DOMAIN, ...networks }, { noRouter: true, outputLimit: 100_000 });
  const routers = new Map<number, { port: number; daemon?: Daemon }>();
  const stop = async () => {
    await Promise.all([...routers.values()].map((r) => r.daemon?.stop() ?? Promise.resolve()));
    await paas.stop();
  };
  try {
    await createApp(paas, APP);
    const pushed = await push(paas, await gitRepo(paas, helloApp), APP);
    if (pushed.code !== 0) throw new Error(`git push failed:\n${pushed.stderr}`);
    const port = await dynoPort(paas, signal);
    await waitForOk('the dyno', port, HOST, HELLO, signal);
    for (const workers of workerCounts) {
      const routerPort = await freePort();
      const daemon = startRouter(paas, routerPort, workers);
      routers.set(workers, { port: routerPort, daemon });
      await waitForOk(`paas router (${workers} workers)`, routerPort, HOST, HELLO, signal, 30_000, daemon);
    }
    return { dynoPort: port, routerPort: (n) => routers.get(n)!.port, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
