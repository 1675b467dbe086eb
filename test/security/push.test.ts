// Issue 8, "pushes belong to their pusher": big pushes are not refused by git's probe request, app
// creation is atomic, and the pre-receive callback is reachable only through the server's own socket.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { Pushes } from '../../server/git/pushes.js';
import type { AppRow } from '../../server/store/apps.js';
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

/**
 * An app whose release command holds its push open until something listens on `gatePort`: a gate
 * the test opens over loopback, the one thing a sandboxed release phase shares with the host.
 */
function gatedApp(tag: string, gatePort: number): Record<string, string> {
  const knock = `node -e "require('net').connect(${gatePort}, '127.0.0.1').on('connect', () => process.exit(0)).on('error', () => process.exit(1))"`;
  return {
    Procfile: `web: exec node server.js\nrelease: echo gate-waiting-${tag}; i=0; until ${knock} || [ $i -ge 300 ]; do sleep 0.2; i=$((i+1)); done\n`,
    'server.js': `require('http').createServer((q, s) => s.end('gated')).listen(process.env.PORT);\n`,
    [`gate-${tag}`]: '',
  };
}

/** What a process that can read other processes' environ (root here) finds in a push in flight. */
function hookEnvOfPushInFlight(socket: string): Record<string, string> | undefined {
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    let environ: string;
    try {
      environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
    } catch {
      continue; // gone already, or not ours to read
    }
    const env = Object.fromEntries(environ.split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    if (env.PAAS_HOOK_SOCKET === socket && env.PAAS_HOOK_SECRET) return env;
  }
  return undefined;
}

/** Throws, for vi.waitFor to try again. */
function fail(why: string): never {
  throw new Error(why);
}

/** POSTs a tar-ish body to the hook socket as the pre-receive hook would. */
function hookCall(socketPath: string, urlPath: string, secret: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path: urlPath, method: 'POST', headers: { 'x-paas-hook-secret': secret, 'content-type': 'application/x-tar' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('hook socket request timed out')));
    req.end('not the pushed tree');
  });
}

describe('the pre-receive callback', () => {
  it('is not served on the public API listener', async () => {
    for (const urlPath of ['/internal/pushes/0123/deploy?commit=' + 'a'.repeat(40), '/apps/race-app/pushes/0123/deploy']) {
      const res = await fetch(`${paas.apiUrl}${urlPath}`, { method: 'POST', headers: { 'x-paas-hook-secret': 'x' }, body: 'tar' });
      expect(res.status, urlPath).toBe(404);
      expect((await res.json()).id).toBe('not_found');
    }
    const run = path.join(paas.dataDir, 'run');
    expect(fs.statSync(run).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(run, 'hooks.sock')).isSocket()).toBe(true);
  });

  it("refuses a used secret, a wrong one and another app's push id, and never shows the secret", async () => {
    const tag = randomBytes(4).toString('hex');
    await createApp(paas, 'gated-app');
    await createApp(paas, 'bystander');
    const gate = net.createServer((s) => s.destroy());
    onTestFinished(() => {
      if (gate.listening) gate.close();
    });
    const gatePort = await new Promise<number>((resolve) => {
      // Reserve a free port, then let it go: the gate opens on it later.
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const dir = await gitRepo(paas, gatedApp(tag, gatePort));
    const commit = (await sh('git', ['rev-parse', 'HEAD'], { cwd: dir })).stdout.trim();
    const pushing = push(paas, dir, 'gated-app');
    // The release command runs after the hook called back, so from here on the push is claimed.
    await vi.waitFor(() => expect(paas.output()).toContain(`gate-waiting-${tag}`), { timeout: 60_000, interval: 100 });
    const socket = path.join(paas.dataDir, 'run', 'hooks.sock');
    const env = await vi.waitFor(() => hookEnvOfPushInFlight(socket) ?? fail('no push in flight in /proc yet'), { timeout: 10_000, interval: 100 });
    const secret = env.PAAS_HOOK_SECRET;
    const hookPath = env.PAAS_HOOK_PATH;
    expect(hookPath).toMatch(/^\/apps\/gated-app\/pushes\/[0-9a-f]+\/deploy$/);
    const pushId = hookPath.split('/')[4];

    const refused = [
      await hookCall(socket, `${hookPath}?commit=${commit}`, secret), // used by the real hook
      await hookCall(socket, `${hookPath}?commit=${commit}`, secret.replace(/^./, (c) => (c === '0' ? '1' : '0'))),
      await hookCall(socket, `/apps/bystander/pushes/${pushId}/deploy?commit=${commit}`, secret),
    ];
    expect(refused.map((r) => r.status)).toEqual([403, 403, 403]);
    for (const r of refused) expect(JSON.parse(r.body).id).toBe('forbidden');
    const malformed = await hookCall(socket, `${hookPath}?commit=HEAD`, secret);
    expect([malformed.status, JSON.parse(malformed.body).id]).toEqual([422, 'invalid_params']);

    await new Promise<void>((resolve) => gate.listen(gatePort, '127.0.0.1', resolve));
    const r = await pushing;
    gate.close();
    expect(r.code, r.stderr).toBe(0);
    expect((await viaRouter(paas, 'gated-app.localhost')).body).toBe('gated');
    // Once the push is over its secret opens nothing, and nothing the pusher or the API sees holds it.
    expect((await hookCall(socket, `${hookPath}?commit=${commit}`, secret)).status).toBe(403);
    const info = await apiCall(paas, 'GET', '/v1/apps/gated-app');
    for (const seen of [r.stdout, r.stderr, paas.output(), JSON.stringify(info.json)]) expect(seen).not.toContain(secret);
  });

  it('refuses to start, with a clear message, when the socket path would be too long', async () => {
    const dataDir = path.join(tempDir('paas-long-'), 'd'.repeat(100));
    await expect(startPaas({ PAAS_DATA_DIR: dataDir })).rejects.toThrow(/PAAS_DATA_DIR is too long: the git hook socket .* Use a shorter data directory path\.\n(?!\s+at )/);
  });

  it('binds each secret to one push of one app, once', () => {
    const pushes = new Pushes();
    const app = (name: string): AppRow => ({ id: 1, name, created_at: '', current_release_id: null, uid: null, maintenance: 0 });
    const a = pushes.open(app('app-a'), 'test');
    const b = pushes.open(app('app-b'), 'test');
    expect(pushes.claim('app-b', a.id, a.secret)).toBeUndefined();
    expect(pushes.claim('app-a', a.id, b.secret)).toBeUndefined();
    expect(pushes.claim('app-a', a.id, undefined)).toBeUndefined();
    expect(pushes.claim('app-a', a.id, a.secret)).toBe(a);
    expect(pushes.claim('app-a', a.id, a.secret)).toBeUndefined();
    pushes.close(b);
    expect(pushes.claim('app-b', b.id, b.secret)).toBeUndefined();
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
