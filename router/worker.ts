// One router worker process, forked by router/fleet.ts: it serves HTTP on the shared port
// (SO_REUSEPORT: the kernel spreads connections over the workers) from a route table it gets over
// the route stream. Its configuration, token included, comes over the IPC channel, never argv.
import type net from 'node:net';
import type { RouterConfig } from './config.js';
import { RouteTable } from './route-table.js';
import { createRouter } from './router.js';
import { StreamClient } from './stream-client.js';
import { parseTrustedProxies } from './trusted.js';

/** Supervisor → worker: what to serve, and on which port (the fleet's, once the first worker bound it). */
export interface WorkerStart {
  type: 'start';
  config: RouterConfig;
  port: number;
  /** The fleet's HTTPS port, as `port`. */
  tlsPort: number;
  /** Whether this worker reports the stream's state on stdout (one does, so a change prints once). */
  say: boolean;
}

/** Worker → supervisor. */
export type WorkerReport = { type: 'listening'; address: net.AddressInfo; tlsAddress: net.AddressInfo } | { type: 'failed'; code?: string; message: string; port?: number };

/** How long a stopping worker lets requests in flight finish before it exits anyway. */
const STOP_MS = 10_000;

function report(msg: WorkerReport, then?: () => void): void {
  process.send?.(msg, undefined, undefined, () => then?.());
}

function run(start: WorkerStart): void {
  const { config } = start;
  const table = new RouteTable(config.domain);
  // The router and the stream client refer to each other (log lines out, drains in); both calls come later.
  const router = createRouter({
    routes: table,
    timeoutMs: config.timeoutMs,
    trustedProxies: parseTrustedProxies(config.trustedProxies),
    log: (app, line, time) => client.log(app, line, time),
  });
  const client = new StreamClient({
    apiUrl: config.apiUrl,
    token: config.token,
    table,
    drain: (target, timeoutMs) => router.drain(target, timeoutMs),
    say: start.say ? (line) => console.log(`paas router: ${line}`) : undefined,
  });
  // HTTP, then HTTPS, on the ports every worker shares.
  const listen = (server: net.Server, port: number, then: () => void) => {
    const failed = (err: NodeJS.ErrnoException) => {
      // Exit once the report is out, so the supervisor can say why (a port in use).
      report({ type: 'failed', code: err.code, message: err.message, port }, () => process.exit(1));
    };
    server.once('error', failed);
    server.listen({ port, host: config.host, reusePort: true }, () => {
      // Once listening, an error is an accept that failed (EMFILE under load): the worker goes on serving.
      server.off('error', failed);
      server.on('error', (err: NodeJS.ErrnoException) => console.error(`paas router: accepting a connection failed (${err.code ?? err.message}); serving on`));
      then();
    });
  };
  listen(router.server, start.port, () =>
    listen(router.tlsServer, start.tlsPort, () => {
      report({ type: 'listening', address: router.server.address() as net.AddressInfo, tlsAddress: router.tlsServer.address() as net.AddressInfo });
      client.start();
    }),
  );

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // Stop taking connections; the ones open finish what they carry, for at most STOP_MS.
    void router.stop(STOP_MS).finally(() => {
      client.close();
      router.close();
      // The last log batch goes out with the stream's close; give it that moment.
      setTimeout(() => process.exit(0), 50).unref();
    });
  };
  process.on('SIGTERM', stop);
  // The supervisor gone (killed, even with SIGKILL) closes the IPC channel: a worker never outlives it.
  process.on('disconnect', stop);
}

// Ctrl-C in a terminal reaches the whole process group: the supervisor decides when workers stop.
process.on('SIGINT', () => undefined);
process.on('SIGHUP', () => undefined);
process.once('message', (msg: WorkerStart) => {
  if (msg?.type === 'start') run(msg);
});
