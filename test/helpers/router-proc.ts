// A standalone `paas router` process subscribed to a test server's route stream.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import os from 'node:os';
import { BIN, type Paas, spawnChild } from './paas.js';

export interface RouterProc {
  proc: ChildProcess;
  port: number;
  output(): string;
  /** `paas` with this router's port, for viaRouter and the load helpers. */
  via: Paas;
}

/**
 * Starts `paas router` against `paas`'s API on an ephemeral port; resolves once it listens (its
 * table may still be on its way). It is SIGKILLed with its workers when the test ends, unless stopped.
 */
export async function startRouter(paas: Paas, extraEnv: Record<string, string> = {}): Promise<RouterProc> {
  const proc = spawnChild(process.execPath, [BIN, 'router'], {
    env: {
      PATH: process.env.PATH!,
      HOME: paas.home,
      TMPDIR: os.tmpdir(),
      PAAS_API_URL: paas.apiUrl,
      PAAS_API_TOKEN: paas.token,
      PAAS_ROUTER_PORT: '0',
      PAAS_ROUTER_TLS_PORT: '0',
      PAAS_BIND_HOST: '127.0.0.1',
      PAAS_ROUTER_WORKERS: '2',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const [port, tlsPort] = await new Promise<[number, number]>((resolve, reject) => {
    const check = () => {
      const m = /paas router listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      const t = /paas router listening on https:\/\/127\.0\.0\.1:(\d+) \(TLS\)/.exec(out);
      if (m && t) resolve([Number(m[1]), Number(t[1])]);
    };
    proc.stdout!.on('data', check);
    proc.on('close', (code) => reject(new Error(`paas router exited with ${code} before listening:\n${out}`)));
  });
  return { proc, port, output: () => out, via: { ...paas, routerPort: port, routerUrl: `http://127.0.0.1:${port}`, routerTlsPort: tlsPort, routerTlsUrl: `https://127.0.0.1:${tlsPort}` } };
}

/** Sends the router SIGTERM and resolves with its exit code. */
export async function stopRouter(router: RouterProc): Promise<number | null> {
  if (router.proc.exitCode !== null || router.proc.signalCode !== null) return router.proc.exitCode;
  router.proc.kill('SIGTERM');
  const [code] = (await once(router.proc, 'exit')) as [number | null];
  return code;
}
