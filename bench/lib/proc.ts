// Long-running helpers of a benchmark (nginx, a router, the load generator), started so they cannot
// outlive it: each runs in a process group of its own (spawnChild), SIGKILLed when the benchmark's
// process exits, and every wait on them is bounded and gives up when the run is aborted (Ctrl-C).
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { spawnChild } from '../../test/helpers/paas.js';

export interface Daemon {
  child: ChildProcess;
  /** What it printed so far (stdout and stderr), to explain a failure. */
  output(): string;
  /** SIGTERM to its group, SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const exited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // the group is gone
  }
}

export function startDaemon(cmd: string, args: string[], env: Record<string, string>): Daemon {
  const child = spawnChild(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  // Only the tail matters for an error message; a chatty process must not grow this without bound.
  const keep = (d: Buffer) => (out = (out + d.toString('utf8')).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.on('error', (err) => keep(Buffer.from(`\n${err.message}\n`)));
  return {
    child,
    output: () => out,
    async stop(graceMs = 10_000) {
      if (exited(child)) return;
      const gone = once(child, 'exit');
      signalGroup(child, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
      await gone;
      clearTimeout(timer);
      // Whatever it started and left behind in its group goes too.
      signalGroup(child, 'SIGKILL');
    },
  };
}

/** Runs `cmd` to its end, killed after `timeoutMs` or on `signal`; its stdout, or throws with its output. */
export async function runBounded(cmd: string, args: string[], timeoutMs: number, signal: AbortSignal): Promise<string> {
  signal.throwIfAborted();
  const d = startDaemon(cmd, args, { PATH: process.env.PATH ?? '/usr/bin:/bin' });
  let stdout = '';
  d.child.stdout!.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
  const kill = () => void d.stop(0);
  const timer = setTimeout(kill, timeoutMs);
  signal.addEventListener('abort', kill, { once: true });
  const [code] = (await once(d.child, 'close')) as [number | null];
  clearTimeout(timer);
  signal.removeEventListener('abort', kill);
  signal.throwIfAborted();
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${code}:\n${d.output()}`);
  return stdout;
}

/** A port free on 127.0.0.1 right now (the kernel picks it; it is free again once we close it). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** One GET to 127.0.0.1:`port` with `host` as Host, on a fresh connection. */
export function get(port: number, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timed out')));
  });
}

/**
 * Polls until 127.0.0.1:`port` answers 200 with `body`, within `limitMs`. `daemon`, when given, is
 * what should be answering: its exit ends the wait at once, with what it printed.
 */
export async function waitForOk(what: string, port: number, host: string, body: string, signal: AbortSignal, limitMs = 30_000, daemon?: Daemon): Promise<void> {
  const t0 = performance.now();
  for (;;) {
    signal.throwIfAborted();
    if (daemon && exited(daemon.child)) throw new Error(`${what} exited before answering:\n${daemon.output()}`);
    const res = await get(port, host).catch((err: Error) => ({ status: 0, body: err.message }));
    if (res.status === 200 && res.body === body) return;
    const last = `${res.status} ${res.body.slice(0, 200)}`;
    if (performance.now() - t0 > limitMs) throw new Error(`${what} did not answer 200 within ${limitMs} ms (last: ${last})${daemon ? `:\n${daemon.output()}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Where `name` is installed: the PATH, then the sbin directories a non-root PATH may lack (nginx). */
export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}
