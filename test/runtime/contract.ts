// One contract every runtime implementation must meet (in the style of Hono's common router
// tests). Each implementation's test file calls runtimeContract() with a factory.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import type { DynoSpec, RunningDyno, Runtime } from '../../server/runtime/types.js';
import { waitUntilUp } from '../../server/runtime/wait-port.js';
import { tempDir } from '../helpers/paas.js';
import { oneOffContract } from './contract-run.js';

const SERVER = `
const http = require('http');
const server = http.createServer((req, res) => res.end(process.env.GREETING + ' from ' + process.env.DYNO));
// The handler goes in before listen(): the port accepts connections from the moment it is bound,
// so the runtime may send SIGTERM before any later statement has run.
process.on('SIGTERM', () => { console.log('got SIGTERM'); server.close(() => process.exit(0)); });
server.listen(process.env.PORT, () => console.log('up on ' + process.env.PORT));
console.error('to stderr');
`;

function slug(): string {
  const dir = tempDir('paas-slug-');
  fs.writeFileSync(path.join(dir, 'server.js'), SERVER);
  fs.writeFileSync(path.join(dir, 'stubborn.js'), "process.on('SIGTERM', () => console.log('ignoring SIGTERM')); setInterval(() => {}, 1000); console.log('ready');");
  return dir;
}

export interface ContractOptions {
  make: () => Runtime;
  /** The app identity dynos get; the slug is handed to it, as the builder does. */
  user?: { uid: number; gid: number };
  /** True where the runtime isolates dynos: /app, own /proc, private /tmp, writes thrown away. */
  isolated: boolean;
  /** True where dynos share the host's network with other apps, so a squatter could take a dyno's port. */
  sharedNetwork?: boolean;
  /** Variables the runtime's engine adds on its own, beyond config, PORT, PATH and HOME (Docker's HOSTNAME). */
  engineEnv?: string[];
  /** The umask dynos start with (paas's own 0077 on the process runtime). */
  umask?: string;
  /** True where the dyno's whole user database is paas's own three lines (the process runtime's sandbox). */
  ownPasswd?: boolean;
}

let current: ContractOptions;

function spec(command: string, lines: string[], slugDir = slug()): DynoSpec {
  if (current.user) handOverSync(slugDir, current.user);
  return {
    app: 'contract',
    name: 'web.1',
    slugDir,
    command,
    pathPrepend: [],
    user: current.user,
    // kv: the name of the process runtime's env loader's own variable once, which emptied it.
    env: { GREETING: 'hello', DYNO: 'web.1', PAAS_APP_NAME: 'contract', kv: 'kept' },
    onLine: (stream, line) => lines.push(`${stream}: ${line}`),
  };
}

function handOverSync(dir: string, user: { uid: number; gid: number }): void {
  fs.chownSync(dir, user.uid, user.gid);
  for (const name of fs.readdirSync(dir)) fs.chownSync(path.join(dir, name), user.uid, user.gid);
}

/** How long a dyno's output may take to arrive once it has happened. */
const LINES = { timeout: 5000 };

/** Starts a dyno that is stopped when the test ends, whether or not the test got to stop it. */
async function start(rt: Runtime, s: DynoSpec): Promise<RunningDyno> {
  const dyno = await rt.start(s);
  onTestFinished(() => rt.stop(dyno, 1000));
  return dyno;
}

/** Runs a command to completion in a dyno and returns what it printed on stdout. */
async function output(rt: Runtime, command: string, slugDir?: string): Promise<{ lines: string[]; status: unknown }> {
  const lines: string[] = [];
  const dyno = await start(rt, spec(command, lines, slugDir));
  const status = await dyno.exited;
  await rt.stop(dyno, 1000);
  return { lines: lines.filter((l) => l.startsWith('stdout: ')).map((l) => l.slice('stdout: '.length)), status };
}

export function runtimeContract(name: string, opts: ContractOptions): void {
  const { make } = opts;
  describe(`runtime contract: ${name}`, () => {
    beforeAll(() => {
      current = opts;
    });

    it('runs the command with PORT and the env, reachable at host:port, with output captured', async () => {
      const rt = make();
      const lines: string[] = [];
      const dyno = await start(rt, spec('node server.js', lines));
      expect(await waitUntilUp(dyno, 10_000)).toEqual({ ok: true });
      expect(await (await fetch(`http://${dyno.host}:${dyno.port}/`)).text()).toBe('hello from web.1');
      await vi.waitFor(() => expect(lines).toEqual(expect.arrayContaining([`stdout: up on ${dyno.port}`, 'stderr: to stderr'])), LINES);
      await rt.stop(dyno, 5000);
    });

    it('stops with SIGTERM first, so the app can drain', async () => {
      const rt = make();
      const lines: string[] = [];
      const dyno = await start(rt, spec('node server.js', lines));
      await waitUntilUp(dyno, 10_000);
      await rt.stop(dyno, 5000);
      await vi.waitFor(() => expect(lines).toContain('stdout: got SIGTERM'), LINES);
    });

    it('kills a dyno that ignores SIGTERM after the grace period', async () => {
      const rt = make();
      const lines: string[] = [];
      const dyno = await start(rt, spec('node stubborn.js', lines));
      await vi.waitFor(() => expect(lines).toContain('stdout: ready'), LINES);
      const started = Date.now();
      await rt.stop(dyno, 500);
      expect(Date.now() - started).toBeGreaterThanOrEqual(450);
      await vi.waitFor(() => expect(lines).toContain('stdout: ignoring SIGTERM'), LINES);
    });

    it('reports a dyno that exits by itself', async () => {
      const rt = make();
      const dyno = await start(rt, spec('exit 7', []));
      expect(await dyno.exited).toMatchObject({ code: 7 });
      expect(await waitUntilUp(dyno, 2000)).toMatchObject({ ok: false, reason: 'exited' });
    });

    it('reaps, after a restart, only the leftover dynos of the app it is told about', async () => {
      const before = make();
      const dyno = await start(before, spec('node server.js', []));
      await waitUntilUp(dyno, 10_000);
      // A new runtime instance stands for a paas server started after one that was SIGKILLed.
      const after = make();
      expect(await after.reap([{ app: 'another-app', handle: dyno.handle }], 1000)).toBe(0);
      expect((await fetch(`http://${dyno.host}:${dyno.port}/`)).status).toBe(200);
      expect(await after.reap([{ app: 'contract', handle: dyno.handle }, { app: 'contract', handle: null }], 1000)).toBe(1);
      await dyno.exited;
      await expect(fetch(`http://${dyno.host}:${dyno.port}/`)).rejects.toThrow();
    });

    it('adopts, after a restart, a dyno that outlived its server (persistent runtimes), else leaves it to reap', async () => {
      const before = make();
      const lines: string[] = [];
      const dyno = await start(before, spec('node server.js', lines));
      await waitUntilUp(dyno, 10_000);
      if (!before.persistent) {
        expect(before.adopt).toBeUndefined();
        return;
      }
      before.detach!();
      // A new runtime instance stands for the next paas server.
      const after = make();
      expect(await after.adopt!({ app: 'another-app', name: 'web.1', handle: dyno.handle }, () => undefined)).toBeUndefined();
      const later: string[] = [];
      const adopted = await after.adopt!({ app: 'contract', name: 'web.1', handle: dyno.handle }, (stream, line) => later.push(`${stream}: ${line}`));
      expect(adopted).toMatchObject({ handle: dyno.handle, host: dyno.host, port: dyno.port });
      expect(await (await fetch(`http://${adopted!.host}:${adopted!.port}/`)).text()).toBe('hello from web.1');
      await after.stop(adopted!, 5000);
      await vi.waitFor(() => expect(later).toContain('stdout: got SIGTERM'), LINES);
      expect(await adopted!.exited).toEqual({ code: 0, signal: null });
      expect(await after.adopt!({ app: 'contract', name: 'web.1', handle: dyno.handle }, () => undefined)).toBeUndefined();
    });

    it('leaves no process behind when a shell command started children', async () => {
      const rt = make();
      const lines: string[] = [];
      const dyno = await start(rt, spec('node server.js & wait', lines));
      await waitUntilUp(dyno, 10_000);
      await rt.stop(dyno, 1000);
      await expect(fetch(`http://${dyno.host}:${dyno.port}/`)).rejects.toThrow();
    });

    it('delivers every line a dyno printed before it settles `exited`', async () => {
      const rt = make();
      // The error a dyno dies of is usually its last line: it must be there when the exit is reported.
      for (let i = 0; i < 5; i++) {
        const lines: string[] = [];
        const dyno = await rt.start(spec('seq 1 2000; echo "fatal: last words" >&2; exit 3', lines));
        expect(await dyno.exited).toEqual({ code: 3, signal: null });
        expect(lines).toContain('stderr: fatal: last words');
        expect(lines.filter((l) => l.startsWith('stdout: '))).toHaveLength(2000);
        await rt.stop(dyno, 1000);
      }
    });

    it('passes exit codes and deaths by signal through unchanged', async () => {
      const rt = make();
      expect((await output(rt, 'exit 7')).status).toEqual({ code: 7, signal: null });
      expect((await output(rt, 'kill -TERM $$')).status).toEqual({ code: null, signal: 'SIGTERM' });
      expect((await output(rt, 'kill -KILL $$')).status).toEqual({ code: null, signal: 'SIGKILL' });
    });

    it('gives the dyno its config and PORT, PATH and HOME, and nothing of the platform', async () => {
      const { lines } = await output(make(), 'env');
      const names = lines.map((l) => l.split('=')[0]).filter((n) => n && !['PWD', 'SHLVL', '_', 'OLDPWD'].includes(n));
      expect(names.sort()).toEqual(['DYNO', 'GREETING', 'HOME', 'PAAS_APP_NAME', 'PATH', 'PORT', 'kv', ...(opts.engineEnv ?? [])].sort());
      expect(lines).toEqual(expect.arrayContaining(['GREETING=hello', 'kv=kept']));
    });

    it('cuts an endless line instead of holding it, and goes on', async () => {
      const { lines } = await output(make(), 'head -c 30000000 /dev/zero | tr "\\0" a; echo; echo after');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toBe(`${'a'.repeat(10_000)} [paas: line cut at 10000 bytes, 29990000 more dropped]`);
      expect(lines[1]).toBe('after');
    });

    oneOffContract(make, (command) => spec(command, []));

    if (opts.user) {
      it('lets no config var steer a privileged process: LD_PRELOAD loads only into the app', async () => {
        const dir = slug();
        fs.writeFileSync(path.join(dir, 'hit.c'), '#include <stdio.h>\n#include <unistd.h>\n__attribute__((constructor)) static void hit(void) { char b[64]; int n = snprintf(b, sizeof b, "preloaded-into-euid=%d\\n", (int)geteuid()); write(2, b, n); }\n');
        const cc = spawnSync('g++', ['-x', 'c', '-shared', '-fPIC', '-o', path.join(dir, 'hit.so'), path.join(dir, 'hit.c')]);
        expect(cc.status, String(cc.stderr)).toBe(0);
        const lines: string[] = [];
        const preload = opts.isolated ? '/app/hit.so' : path.join(dir, 'hit.so');
        const s = spec('true', lines, dir);
        const dyno = await start(make(), { ...s, env: { ...s.env, LD_PRELOAD: preload } });
        await dyno.exited;
        const hits = lines.filter((l) => l.includes('preloaded-into-euid='));
        expect(hits.length).toBeGreaterThan(0);
        expect(hits.every((l) => l === `stderr: preloaded-into-euid=${opts.user!.uid}`), hits.join('\n')).toBe(true);
      });

      it.runIf(opts.sharedNetwork ?? true)("never counts another process's listener on the dyno's port as the dyno", async () => {
        const rt = make();
        const dyno = await start(rt, spec('sleep 5', []));
        expect(dyno.ownsPort, 'a runtime whose dynos share the host network checks who listens').toBeDefined();
        // Nobody listening is not the dyno either (a squatter that answered a probe may have let go).
        expect(dyno.ownsPort!()).toBe(false);
        // A squatter (this test, as another uid) takes the port the dyno was given.
        const squatter = net.createServer().listen(dyno.port, '127.0.0.1');
        onTestFinished(() => {
          if (squatter.listening) squatter.close();
        });
        await new Promise((r) => squatter.once('listening', r));
        expect(await waitUntilUp(dyno, 5000)).toEqual({ ok: false, reason: 'taken' });
        squatter.close();
        await rt.stop(dyno, 1000);
        const own = await start(rt, spec('node server.js', []));
        expect(await waitUntilUp(own, 10_000)).toEqual({ ok: true });
        await rt.stop(own, 1000);
      });

      it("runs the dyno under the app's own uid and gid, with no other group and no capability", async () => {
        const { lines } = await output(make(), 'id -u; id -g; id -G; grep CapEff /proc/self/status; umask');
        const { uid, gid } = opts.user!;
        expect(lines).toEqual([String(uid), String(gid), String(gid), 'CapEff:\t0000000000000000', opts.umask ?? '0077']);
      });
    }

    if (!opts.isolated) return;

    it('refuses the dyno a user namespace of its own, and still lets it fork, spawn and use threads', async () => {
      const { lines } = await output(make(), 'unshare -Ur true 2>/dev/null || echo refused; node -e "new (require(\'worker_threads\').Worker)(\'console.log(1+1)\', { eval: true })"; (true & wait) && echo forked');
      expect(lines).toEqual(['refused', '2', 'forked']);
    });

    if (opts.user) {
      it('knows the app as a user, named app, at home in /app, and shows no host account', async () => {
        const { lines } = await output(make(), 'whoami; getent passwd "$(id -u)" | cut -d: -f6; node -e "console.log(require(\'os\').userInfo().username)"; wc -l < /etc/passwd');
        expect(lines.slice(0, 3)).toEqual(['app', '/app', 'app']);
        if (opts.ownPasswd ?? true) expect(lines[3]).toBe('3');
      });
    }

    it('runs the dyno at /app, its working directory and HOME, and throws away what it writes there', async () => {
      const rt = make();
      const dir = slug();
      const first = await output(rt, 'pwd; echo "$HOME"; echo scratch > written.txt && cat written.txt; echo more >> server.js && echo appended', dir);
      expect(first.lines).toEqual(['/app', '/app', 'scratch', 'appended']);
      const again = await output(rt, 'ls /app; tail -c 5 server.js', dir);
      expect(again.lines).not.toContain('written.txt');
      expect(again.lines).toContain('server.js');
      expect(fs.existsSync(path.join(dir, 'written.txt'))).toBe(false);
      expect(fs.readFileSync(path.join(dir, 'server.js'), 'utf8')).toBe(SERVER);
    });

    it('shows the dyno only its own processes, a private /tmp and none of the host paths', async () => {
      const rt = make();
      const hostFile = path.join(os.tmpdir(), 'paas-contract-host-file');
      fs.writeFileSync(hostFile, 'host');
      onTestFinished(() => fs.rmSync(hostFile, { force: true }));
      const dir = slug();
      const { lines } = await output(rt, 'ls /proc | grep -c "^[0-9]"; ls /tmp | wc -l; cat /proc/*/cmdline 2>/dev/null | tr "\\0" " "; echo; cat /proc/self/mountinfo', dir);
      expect(Number(lines[0])).toBeLessThanOrEqual(6);
      expect(lines[1]).toBe('0');
      const text = lines.join('\n');
      expect(text).not.toContain(dir);
      expect(text).not.toContain('vitest');
      expect(text).not.toContain(String(process.pid));
    });
  });
}
