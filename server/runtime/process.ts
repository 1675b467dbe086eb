import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import readline from 'node:readline';
import type { DynoSpec, ExitStatus, Runtime, RunningDyno } from './types.js';

/** Asks the kernel for a free loopback port. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // Negative pid: the whole process group, so `npm start` and the node it spawned both get it.
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** Dynos as local child processes, each in its own process group, bound to 127.0.0.1. */
export class ProcessRuntime implements Runtime {
  readonly name = 'process';
  private readonly pids = new Map<string, number>();

  async start(spec: DynoSpec): Promise<RunningDyno> {
    const port = await freePort();
    // The Procfile command is the app's own shell command, run as Heroku runs it; no paas
    // value is spliced into it (PORT and the rest arrive through the environment).
    const child = spawn('/bin/sh', ['-c', spec.command], {
      cwd: spec.slugDir,
      env: { ...spec.env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const id = randomUUID();
    const exited = new Promise<ExitStatus>((resolve) => {
      child.on('error', (err) => {
        spec.onLine('stderr', `failed to start: ${err.message}`);
        resolve({ code: null, signal: null });
      });
      child.on('exit', (code, signal) => resolve({ code, signal }));
    });
    readline.createInterface({ input: child.stdout! }).on('line', (l) => spec.onLine('stdout', l));
    readline.createInterface({ input: child.stderr! }).on('line', (l) => spec.onLine('stderr', l));
    if (child.pid !== undefined) this.pids.set(id, child.pid);
    void exited.then(() => this.pids.delete(id));
    return { id, name: spec.name, host: '127.0.0.1', port, exited };
  }

  async stop(dyno: RunningDyno, graceMs: number): Promise<void> {
    const pid = this.pids.get(dyno.id);
    if (pid === undefined) return void (await dyno.exited);
    signalGroup(pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
    await dyno.exited;
    clearTimeout(timer);
    // The shell may exit before its children; make sure none of the group outlives the dyno.
    signalGroup(pid, 'SIGKILL');
  }
}
