import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import readline from 'node:readline';
import { groupMembers, hasEnv, terminateGroup } from './process-groups.js';
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
    return { id, name: spec.name, host: '127.0.0.1', port, handle: String(child.pid ?? ''), exited };
  }

  async stop(dyno: RunningDyno, graceMs: number): Promise<void> {
    const pid = this.groups.get(dyno.id);
    if (pid === undefined) return void (await dyno.exited);
    await terminateGroup(pid, graceMs);
    await dyno.exited;
    this.groups.delete(dyno.id);
  }

  async reap(stale: { app: string; handle: string | null }[], graceMs: number): Promise<number> {
    // A pid may have been reused since; a group counts as ours only while a member still carries
    // the app name paas gave every dyno of that app.
    const ours = stale
      .map((d) => ({ app: d.app, pgid: Number(d.handle) }))
      .filter(({ app, pgid }) => Number.isInteger(pgid) && pgid > 1 && groupMembers(pgid).some((pid) => hasEnv(pid, 'PAAS_APP_NAME', app)));
    await Promise.all(ours.map(({ pgid }) => terminateGroup(pgid, graceMs)));
    return ours.length;
  }
}
