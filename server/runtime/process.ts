import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
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

/**
 * True while any process of the group is still running. Zombies do not count: an app orphaned by
 * its shell is reaped by init, which may take a while, and it is done with its port by then.
 */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return true; // no /proc: trust kill(0)
  }
  return pids.some((pid) => {
    try {
      // Fields after the parenthesised command: state, ppid, pgrp, …
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(pgrp) === pgid && state !== 'Z';
    } catch {
      return false;
    }
  });
}

/** Procfile commands run under bash, as on Heroku; bash also execs a lone command, so the app is our child. */
function shell(): string {
  return fs.existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh';
}

/** Dynos as local child processes, each in its own process group, bound to 127.0.0.1. */
export class ProcessRuntime implements Runtime {
  readonly name = 'process';
  /** Process group (the shell's pid) by dyno id; a group can outlive its shell, so it is kept until stop(). */
  private readonly groups = new Map<string, number>();

  async start(spec: DynoSpec): Promise<RunningDyno> {
    const port = await freePort();
    // The Procfile command is the app's own shell command, run as Heroku runs it; no paas
    // value is spliced into it (PORT and the rest arrive through the environment).
    const child = spawn(shell(), ['-c', spec.command], {
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
    if (child.pid !== undefined) this.groups.set(id, child.pid);
    return { id, name: spec.name, host: '127.0.0.1', port, exited };
  }

  async stop(dyno: RunningDyno, graceMs: number): Promise<void> {
    const pid = this.groups.get(dyno.id);
    if (pid === undefined) return void (await dyno.exited);
    signalGroup(pid, 'SIGTERM');
    // The shell may die of SIGTERM at once while the app it started is still draining, so wait
    // for the whole process group, not just the shell, before the SIGKILL.
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && groupAlive(pid)) await new Promise((r) => setTimeout(r, 25));
    signalGroup(pid, 'SIGKILL');
    await dyno.exited;
    this.groups.delete(dyno.id);
  }
}
