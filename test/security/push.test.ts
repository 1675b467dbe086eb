// Issue 8, "pushes belong to their pusher": big pushes are not refused by git's probe request, app
// creation is atomic, and the pre-receive hook hands the push to the server without a callback anyone can reach.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { staticSite } from '../helpers/fixtures.js';
import { apiCall, commitFiles, createApp, gitRepo, gitUrl, type Paas, push, sh, spawnChild, startPaas, tempDir, viaRouter } from '../helpers/paas.js';

let paas: Paas;
// Stopped when the file ends, pass or fail: startPaas registers that itself.
beforeAll(async () => {
  paas = await startPaas({ PAAS_BOOT_TIMEOUT_MS: '10000' });
});

describe('big pushes', () => {
  it('deploys 10 of 10 sequential pushes of a 2 MiB incompressible pack', async () => {
    await createApp(paas, 'big-app');
    const dir = await gitRepo(paas, staticSite);
    const results: string[] = [];
    for (let i = 1; i <= 10; i++) {
      // Random bytes do not compress, so every pack exceeds git's 1 MiB http.postBuffer and git
      // sends its 4-byte probe request before the pack.
      fs.rmSync(path.join(dir, `blob-${i - 1}.bin`), { force: true });
      fs.writeFileSync(path.join(dir, `blob-${i}.bin`), randomBytes(2 * 1024 * 1024));
      await commitFiles(paas, dir, { 'index.html': `<h1>push ${i}</h1>\n` }, `push ${i}`);
      const r = await push(paas, dir, 'big-app');
      results.push(r.code === 0 ? 'ok' : `push ${i} failed: ${r.stderr.split('\n').filter((l) => l.includes('!')).join(' ')}`);
    }
    expect(results).toEqual(Array(10).fill('ok'));
    expect((await viaRouter(paas, 'big-app.localhost')).body).toContain('push 10');
  });
});

describe('creating an app', () => {
  it('lets exactly one of 20 concurrent creates of one name win, and keeps its repository', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => apiCall(paas, 'POST', '/v1/apps', { name: 'race-app' })));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([201, ...Array(19).fill(409)]);
    for (const a of answers.filter((x) => x.status === 409)) {
      expect(a.json).toMatchObject({ id: 'name_taken', message: expect.stringContaining('race-app') });
    }
    const dir = await gitRepo(paas, staticSite);
    const r = await push(paas, dir, 'race-app');
    expect(r.code, r.stderr).toBe(0);
    expect((await viaRouter(paas, 'race-app.localhost')).body).toContain('hello from a static site');
  });
});

describe('a repository left behind with no app', () => {
  it('is moved aside, never deleted, when an app of that name is created', async () => {
    const leftover = path.join(paas.dataDir, 'repos', 'orphan-app.git');
    fs.mkdirSync(leftover, { recursive: true });
    fs.writeFileSync(path.join(leftover, 'precious'), 'data from before the crash');
    await createApp(paas, 'orphan-app');
    const kept = fs.readdirSync(path.join(paas.dataDir, 'repos', '.orphans')).filter((n) => n.startsWith('orphan-app-'));
    expect(kept).toHaveLength(1);
    expect(fs.readFileSync(path.join(paas.dataDir, 'repos', '.orphans', kept[0], 'precious'), 'utf8')).toBe('data from before the crash');
    expect(paas.output()).toContain(`Moved ${leftover}, which belonged to no app`);
    const r = await push(paas, await gitRepo(paas, staticSite), 'orphan-app');
    expect(r.code, r.stderr).toBe(0);
  });
});

/** The processes below `pid`, by pid, with their executable and command line. */
function descendants(pid: number): { pid: number; exe: string; cmdline: string }[] {
  const children = new Map<number, number[]>();
  for (const p of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      // The parent is the 2nd field after the command name, which is in parentheses and may hold spaces.
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(p)]);
    } catch {
      // gone already
    }
  }
  const found: { pid: number; exe: string; cmdline: string }[] = [];
  const walk = (parent: number): void => {
    for (const child of children.get(parent) ?? []) {
      let exe = '';
      let cmdline = '';
      try {
        exe = fs.readlinkSync(`/proc/${child}/exe`);
        cmdline = fs.readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').join(' ');
      } catch {
        // gone already
      }
      found.push({ pid: child, exe, cmdline });
      walk(child);
    }
  };
  walk(pid);
  return found;
}

/** Throws, for vi.waitFor to try again. */
function fail(why: string): never {
  throw new Error(why);
}

describe('the pre-receive hook', () => {
  it('is a sh script, and no callback is served on a socket or on the public API', async () => {
    const hook = fs.readFileSync(path.join(paas.dataDir, 'git-hooks', 'pre-receive'), 'utf8');
    expect(hook.startsWith('#!/bin/sh\n')).toBe(true);
    expect(hook).not.toMatch(/node|PAAS_/i);
    for (const urlPath of ['/internal/pushes/0123/deploy?commit=' + 'a'.repeat(40), '/apps/race-app/pushes/0123/deploy']) {
      const res = await fetch(`${paas.apiUrl}${urlPath}`, { method: 'POST', headers: { 'x-paas-hook-secret': 'x' }, body: 'tar' });
      expect(res.status, urlPath).toBe(404);
      expect((await res.json()).id).toBe('not_found');
    }
    const run = path.join(paas.dataDir, 'run');
    expect(fs.statSync(run).mode & 0o777).toBe(0o700);
    expect(fs.readdirSync(run).filter((n) => fs.statSync(path.join(run, n)).isSocket())).toEqual([]);
  });

  it('starts no Node while a push is in flight: git runs sh, which waits on the server', async () => {
    const tag = randomBytes(4).toString('hex');
    await createApp(paas, 'gated-app');
    // The release command holds the push open for 3 s, long enough to look at its processes.
    const app = {
      Procfile: `web: exec node server.js\nrelease: echo gate-waiting-${tag}; sleep 3\n`,
      'server.js': `require('http').createServer((q, s) => s.end('gated')).listen(process.env.PORT);\n`,
    };
    const pushing = push(paas, await gitRepo(paas, app), 'gated-app');
    // The release command runs after the hook handed the push over, so the hook is waiting now.
    await vi.waitFor(() => expect(paas.output()).toContain(`gate-waiting-${tag}`), { timeout: 60_000, interval: 100 });
    const below = await vi.waitFor(
      () => {
        const procs = descendants(paas.proc.pid!);
        return procs.some((p) => p.cmdline.includes('pre-receive')) ? procs : fail('no pre-receive hook in flight in /proc yet');
      },
      { timeout: 10_000, interval: 100 },
    );
    const receivePack = below.find((p) => p.cmdline.includes('receive-pack') && p.cmdline.includes('gated-app.git'))!;
    const hookTree = descendants(receivePack.pid);
    expect(hookTree.find((p) => p.cmdline.includes('pre-receive'))?.exe).toMatch(/\/(da|ba)?sh$/);
    expect(hookTree.filter((p) => p.exe === process.execPath || /\bnode\b/.test(p.cmdline))).toEqual([]);

    const r = await pushing;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`gate-waiting-${tag}`);
    expect((await viaRouter(paas, 'gated-app.localhost')).body).toBe('gated');
  });

  it('runs nothing of the ref names it is given', async () => {
    await createApp(paas, 'refname-app');
    const marker = path.join(tempDir('paas-refname-'), 'ran');
    const dir = await gitRepo(paas, staticSite);
    const ref = `refs/heads/x$(touch\${IFS}${marker})`;
    const r = await sh('git', ['push', gitUrl(paas, 'refname-app'), `main:${ref}`], { cwd: dir, env: paas.env });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`Only the main or master branch deploys; refusing ${ref}.`);
    expect(fs.existsSync(marker)).toBe(false);
  });
});

describe('a push whose pusher goes away', () => {
  it('never goes live: its build is stopped, and git leaves the branch', async () => {
    await createApp(paas, 'gone-app');
    const dir = await gitRepo(paas, { Procfile: 'web: exec node server.js\n', 'server.js': "require('http').createServer((q, s) => s.end('v1')).listen(process.env.PORT);\n" });
    expect((await push(paas, dir, 'gone-app')).code).toBe(0);
    // The second push builds slowly; the pusher is killed while it builds.
    await commitFiles(paas, dir, {
      'package.json': JSON.stringify({ name: 'gone', version: '1.0.0', scripts: { build: 'echo building-slowly && sleep 3' } }),
      'package-lock.json': JSON.stringify({ name: 'gone', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'gone', version: '1.0.0' } } }),
      'server.js': "require('http').createServer((q, s) => s.end('v2')).listen(process.env.PORT);\n",
    });
    // In a process group of its own (spawnChild), killed when the test ends should it fail first.
    const git = spawnChild('git', ['push', gitUrl(paas, 'gone-app'), 'main'], { cwd: dir, env: paas.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    git.stderr!.on('data', (d) => (out += d));
    await vi.waitFor(() => expect(out).toContain('building-slowly'), { timeout: 30_000, interval: 100 });
    // As Ctrl-C would: git and its git-remote-http helper, which holds the connection, both go.
    process.kill(-git.pid!, 'SIGKILL');
    // The build is stopped where it is (its step killed) and recorded as failed; no release comes of it.
    const db = new Database(path.join(paas.dataDir, 'paas.db'), { readonly: true });
    onTestFinished(() => void db.close());
    const builds = () => (db.prepare("SELECT b.status FROM builds b JOIN apps a ON a.id = b.app_id WHERE a.name = 'gone-app' ORDER BY b.created_at").all() as { status: string }[]).map((b) => b.status);
    await vi.waitFor(() => expect(builds()).toEqual(['succeeded', 'failed']), { timeout: 30_000, interval: 100 });
    expect(out).not.toContain('Released v2');
    const releases = (await apiCall(paas, 'GET', '/v1/apps/gone-app/releases')).json as { version: number; status: string }[];
    expect(releases.filter((r) => r.status !== 'failed').map((r) => r.version)).toEqual([1]);
    expect((await viaRouter(paas, 'gone-app.localhost')).body).toBe('v1');
    const head = await sh('git', ['ls-remote', gitUrl(paas, 'gone-app'), 'refs/heads/main'], { env: paas.env });
    expect(head.stdout).toContain((await sh('git', ['rev-parse', 'HEAD~1'], { cwd: dir })).stdout.trim());
  });
});
