import http from 'node:http';
import net from 'node:net';
import { createRouter, type Router, type RouterOptions } from '../../router/router.js';
import { onCleanup } from './cleanup.js';
import type { Target, TestTable } from './route-table.js';

/** Listens on a free loopback port; resolves with it. */
export function listen(server: net.Server): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as net.AddressInfo).port)));
}

/** An HTTP backend on loopback, closed with its connections when the test ends. */
export async function backend(handler: http.RequestListener): Promise<Target> {
  const server = http.createServer(handler);
  onCleanup(() => {
    server.closeAllConnections();
    server.close();
  });
  return { host: '127.0.0.1', port: await listen(server) };
}

/** A loopback port nothing listens on: a dyno that went away. */
export async function deadTarget(): Promise<Target> {
  const server = net.createServer();
  const port = await listen(server);
  await new Promise((r) => server.close(r));
  return { host: '127.0.0.1', port };
}

/** A router over `table` on a free port, closed when the test ends; `lines` collects its log lines. */
export async function startRouter(table: TestTable, opts: Partial<RouterOptions> = {}): Promise<{ port: number; lines: { app: string; line: string }[]; router: Router }> {
  const lines: { app: string; line: string }[] = [];
  const r = createRouter({ routes: table.routes, timeoutMs: 120_000, log: (app, line) => lines.push({ app, line }), ...opts });
  onCleanup(() => {
    r.close();
    r.server.close();
  });
  return { port: await listen(r.server), lines, router: r };
}

/**
 * Writes `bytes` to the port as they are and resolves with everything that comes back until the
 * router closes the connection, or until `waitMs` passes (the connection then closed by us).
 */
export function raw(port: number, bytes: string | Buffer, waitMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.on('data', (d) => (out += d.toString('latin1')));
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? undefined : reject(err)));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    socket.write(bytes);
  });
}
