import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { nodeApp, pythonApp, slowApp, staticSite } from './helpers/fixtures.js';
import { apiCall, cli, commitFiles, createApp, gitRepo, type Paas, push, startPaas, viaRouter } from './helpers/paas.js';
import { detectSandbox } from '../server/sandbox/host.js';

let paas: Paas;
// Stopped when the file ends, pass or fail: startPaas registers that itself.
beforeAll(async () => {
  paas = await startPaas({ PAAS_BOOT_TIMEOUT_MS: '6000' });
});

describe('git push deploys through the router', () => {
  it('deploys a Node app, streams the build, and replaces it on a second push', async () => {
    await createApp(paas, 'node-app');
    const dir = await gitRepo(paas, nodeApp('first'));
    const first = await push(paas, dir, 'node-app');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('remote: -----> Node.js app detected');
    expect(first.stderr).toContain('npm ci');
    expect(first.stderr).toMatch(/Released v1/);
    const res = await viaRouter(paas, 'node-app.localhost');
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body);
    expect(body).toMatchObject({ message: 'first', dyno: 'web.1' });
    expect(body.token).toBeNull(); // the platform's token never leaks into dynos

    await commitFiles(paas, dir, { 'server.js': nodeApp('second')['server.js'] });
    const second = await push(paas, dir, 'node-app');
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/Dependencies unchanged since the last build \(package\.json, package-lock\.json, node [^)]*\): reusing node_modules/);
    expect(second.stderr).toMatch(/Released v2/);
    expect(JSON.parse((await viaRouter(paas, 'node-app.localhost')).body).message).toBe('second');

    const info = await apiCall(paas, 'GET', '/v1/apps/node-app');
    expect(info.json.release.version).toBe(2);
    // The old dyno drains after the push returned (listed as `stopping` until it is gone).
    await vi.waitFor(async () => expect((await apiCall(paas, 'GET', '/v1/apps/node-app')).json.dynos).toEqual([expect.objectContaining({ name: 'web.1', state: 'up' })]), { timeout: 15_000, interval: 100 });
  });

  it('deploys a Python app in a virtualenv', async () => {
    await createApp(paas, 'py-app');
    const dir = await gitRepo(paas, pythonApp);
    const r = await push(paas, dir, 'py-app');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Python app detected');
    const res = await viaRouter(paas, 'py-app.localhost');
    expect(res.status).toBe(200);
    expect(res.body).toMatch(/^hello from python .*\.venv$/);

    // Same requirements: the cached venv is restored into the new slug and its scripts relocated.
    await commitFiles(paas, dir, { 'app.py': pythonApp['app.py'].replace('hello from', 'hello again from') });
    const again = await push(paas, dir, 'py-app');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('using cached virtualenv');
    expect((await viaRouter(paas, 'py-app.localhost')).body).toMatch(/^hello again from python .*\.venv$/);
    const slugs = path.join(paas.dataDir, 'slugs');
    const venvs = fs.readdirSync(slugs).map((id) => path.join(slugs, id, 'app', '.venv')).filter((v) => fs.existsSync(v));
    expect(venvs).toHaveLength(2);
    // A venv names itself by the path its processes see: /app/.venv in a sandbox, the host path without.
    const sandboxed = detectSandbox().kind === 'bwrap';
    if (sandboxed) expect(res.body).toBe('hello from python /app/.venv');
    for (const venv of venvs) expect(fs.readFileSync(path.join(venv, 'bin', 'pip'), 'utf8').split('\n')[0]).toBe(`#!${sandboxed ? '/app/.venv' : venv}/bin/python3`);
  });

  it('serves a static site with the built-in static server', async () => {
    await createApp(paas, 'static-app');
    const dir = await gitRepo(paas, staticSite);
    const r = await push(paas, dir, 'static-app');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Static site app detected');
    const index = await viaRouter(paas, 'static-app.localhost');
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toContain('text/html');
    expect(index.body).toContain('hello from a static site');
    const css = await viaRouter(paas, 'static-app.localhost', '/css/site.css');
    expect(css.headers['content-type']).toContain('text/css');
    expect((await viaRouter(paas, 'static-app.localhost', '/../../etc/passwd')).status).toBe(404);
    expect((await viaRouter(paas, 'static-app.localhost', '/.paas/slug.json')).status).toBe(404);
  });

  it('rejects a failing build and keeps the old release serving', async () => {
    await createApp(paas, 'fail-build');
    const dir = await gitRepo(paas, nodeApp('good'));
    expect((await push(paas, dir, 'fail-build')).code).toBe(0);
    await commitFiles(paas, dir, { 'package.json': '{ "name": broken' });
    const bad = await push(paas, dir, 'fail-build');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('[remote rejected] main -> main');
    expect(bad.stderr).toContain("package.json line 1, column 11: unexpected 'b'. Fix it and push again.");
    expect(JSON.parse((await viaRouter(paas, 'fail-build.localhost')).body).message).toBe('good');
    // The ref did not move: the server still has the good commit.
    const remote = await apiCall(paas, 'GET', '/v1/apps/fail-build');
    expect(remote.json.release.version).toBe(1);
    // No slug or half-built directory is left behind for the failed build.
    const slugs = fs.readdirSync(path.join(paas.dataDir, 'slugs'));
    expect(slugs.every((s) => fs.existsSync(path.join(paas.dataDir, 'slugs', s, 'slug.json')))).toBe(true);
  });

  it('rejects a push whose web process crashes on boot, or never binds, keeping the old one', async () => {
    await createApp(paas, 'fail-start');
    const dir = await gitRepo(paas, nodeApp('stable'));
    expect((await push(paas, dir, 'fail-start')).code).toBe(0);

    await commitFiles(paas, dir, { 'server.js': 'console.error("boom: missing DATABASE_URL"); process.exit(3);\n' });
    const crash = await push(paas, dir, 'fail-start');
    expect(crash.code).not.toBe(0);
    expect(crash.stderr).toContain('web.1 exited with code 3 while booting');
    expect(crash.stderr).toContain('boom: missing DATABASE_URL');
    expect(crash.stderr).toContain('[remote rejected]');
    expect(JSON.parse((await viaRouter(paas, 'fail-start.localhost')).body).message).toBe('stable');

    await commitFiles(paas, dir, { 'server.js': 'setInterval(() => {}, 1000);\n' });
    const silent = await push(paas, dir, 'fail-start');
    expect(silent.code).not.toBe(0);
    expect(silent.stderr).toContain('did not listen on $PORT within 6 s');
    expect(JSON.parse((await viaRouter(paas, 'fail-start.localhost')).body).message).toBe('stable');
  });

  it('refuses a push to an unknown app with a hint', async () => {
    const dir = await gitRepo(paas, staticSite);
    const r = await push(paas, dir, 'no-such-app');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('paas apps:create no-such-app');
  });

  it('refuses branches other than main or master', async () => {
    await createApp(paas, 'branchy');
    const dir = await gitRepo(paas, staticSite);
    const r = await push(paas, dir, 'branchy', 'main:feature');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Only the main or master branch deploys');
    expect((await viaRouter(paas, 'branchy.localhost')).status).toBe(503);
    const master = await push(paas, dir, 'branchy', 'main:master');
    expect(master.code, master.stderr).toBe(0);
  });

  it('refuses a second push while a deploy is in progress', async () => {
    await createApp(paas, 'busy-app');
    const dir = await gitRepo(paas, slowApp(3, 'slow one'));
    const first = push(paas, dir, 'busy-app');
    // Wait until the first deploy is booting its dyno, i.e. well inside the locked section.
    await vi.waitFor(() => expect(paas.output()).toContain('busy-app paas[web.1]: Starting process'), { timeout: 30_000, interval: 100 });
    const started = Date.now();
    const second = await push(paas, dir, 'busy-app');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain('deploy of busy-app is already in progress');
    const firstResult = await first;
    expect(firstResult.code, firstResult.stderr).toBe(0);
    expect((await viaRouter(paas, 'busy-app.localhost')).body).toBe('slow one');
  });

  it("tidies the app's repository (git gc --auto) once the push has been answered", async () => {
    await createApp(paas, 'tidy-app');
    const repo = path.join(paas.dataDir, 'repos', 'tidy-app.git');
    const { sh } = await import('./helpers/paas.js');
    // Each push kept as a pack of its own, and gc --auto due as soon as there are two.
    for (const [key, value] of [['receive.unpackLimit', '1'], ['gc.autoPackLimit', '1']]) expect((await sh('git', ['config', key, value], { cwd: repo })).code).toBe(0);
    const packs = () => fs.readdirSync(path.join(repo, 'objects', 'pack')).filter((f) => f.endsWith('.pack'));
    const dir = await gitRepo(paas, staticSite);
    expect((await push(paas, dir, 'tidy-app')).code).toBe(0);
    expect(packs()).toHaveLength(1);
    await commitFiles(paas, dir, { 'index.html': '<h1>again</h1>' });
    const r = await push(paas, dir, 'tidy-app');
    expect(r.code, r.stderr).toBe(0);
    await vi.waitFor(() => expect(packs()).toHaveLength(1), { timeout: 10_000, interval: 50 });
  });

  it('answers 401 to git with a wrong token', async () => {
    await createApp(paas, 'guarded');
    const dir = await gitRepo(paas, staticSite);
    const url = new URL(paas.apiUrl);
    url.username = 'paas';
    url.password = 'wrong-token';
    url.pathname = '/guarded.git';
    const { sh } = await import('./helpers/paas.js');
    const r = await sh('git', ['push', url.toString(), 'main'], { cwd: dir, env: paas.env });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Authentication failed|401/);
  });
});

describe('the CLI flow a new user follows', () => {
  it('logs in, creates an app with a git remote, pushes with plain git and reads logs', async () => {
    const dir = await gitRepo(paas, nodeApp('from the readme'));
    const env = { PAAS_API_TOKEN: '' }; // use ~/.netrc only, as after `paas login`
    const login = await cli(paas, ['login', '--token', paas.token], { env });
    expect(login.code, login.stderr).toBe(0);
    expect(fs.readFileSync(path.join(paas.home, '.netrc'), 'utf8')).toContain(paas.token);
    expect(fs.statSync(path.join(paas.home, '.netrc')).mode & 0o777).toBe(0o600);

    const created = await cli(paas, ['apps:create', 'readme-app'], { cwd: dir, env });
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('http://readme-app.localhost:');

    const pushed = await (await import('./helpers/paas.js')).sh('git', ['push', 'paas', 'main'], { cwd: dir, env: { ...paas.env, ...env } });
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(JSON.parse((await viaRouter(paas, 'readme-app.localhost')).body).message).toBe('from the readme');

    const info = await cli(paas, ['apps:info', '--json'], { cwd: dir, env });
    expect(JSON.parse(info.stdout)).toMatchObject({ name: 'readme-app', release: { version: 1 } });
    const logs = await cli(paas, ['logs', '-n', '50'], { cwd: dir, env });
    expect(logs.stdout).toMatch(/app\[web\.1\]: listening on \d+/);

    const list = await cli(paas, ['apps', '--json'], { env });
    expect(JSON.parse(list.stdout).map((a: { name: string }) => a.name)).toContain('readme-app');

    const noConfirm = await cli(paas, ['apps:destroy'], { cwd: dir, env });
    expect(noConfirm.code).not.toBe(0);
    expect(noConfirm.stderr).toContain('--confirm readme-app');
    const destroyed = await cli(paas, ['apps:destroy', 'readme-app', '--confirm', 'readme-app'], { cwd: dir, env });
    expect(destroyed.code, destroyed.stderr).toBe(0);
    expect((await viaRouter(paas, 'readme-app.localhost')).status).toBe(404);
    expect(fs.existsSync(path.join(paas.dataDir, 'repos', 'readme-app.git'))).toBe(false);
  });
});
