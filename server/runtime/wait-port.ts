import net from 'node:net';
import type { ExitStatus } from './types.js';

export type BootResult = { ok: true } | { ok: false; reason: 'exited'; status: ExitStatus } | { ok: false; reason: 'timeout' };

function tryConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    sock.setTimeout(1000);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
    sock.once('timeout', () => {
      sock.destroy();
      resolve(false);
    });
  });
}

/** Polls until the port accepts a connection, the dyno exits, or the timeout passes. */
export async function waitForPort(
  host: string,
  port: number,
  opts: { timeoutMs: number; exited: Promise<ExitStatus> },
): Promise<BootResult> {
  let status: ExitStatus | undefined;
  void opts.exited.then((s) => (status = s));
  const deadline = Date.now() + opts.timeoutMs;
  let delay = 20;
  while (Date.now() < deadline) {
    if (status) return { ok: false, reason: 'exited', status };
    if (await tryConnect(host, port)) return { ok: true };
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 250);
  }
  return { ok: false, reason: 'timeout' };
}
