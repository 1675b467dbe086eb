// The README's first run, as a new user does it: `npm start` in the checkout, with no PAAS_DATA_DIR
// and no login, then a push; and SIGTERM to that `npm start`, which must leave nothing running.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { nodeApp } from './helpers/fixtures.js';
import { BIN, createApp, gitRepo, type Paas, push, ROOT, sh, spawnChild, tempDir, viaRouter } from './helpers/paas.js';
import { descendants } from './helpers/procs.js';
import { dataPaths } from '../server/store/paths.js';
import { prepareDataDir } from '../server/sandbox/data-dir.js';
import { detectSandbox } from '../server/sandbox/host.js';

/** What git says is new or changed in the checkout, ignored files included, minus node_modules and dist. */
async function checkoutChanges(): Promise<string[]> {
  const r = await sh('git', ['status', '--porcelain', '--ignored', '--untracked-files=all'], { cwd: ROOT });
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.slice(3))
    // Build output, and the screenshots other suites write while this one runs.
    .filter((f) => !/^(node_modules|dist|test-results)\//.test(f))
    .sort();
}

/** Whether `pid` still runs (a zombie runs nothing and holds nothing). */
function alive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('first run from the checkout', () => {
  it('keeps its data in the user data dir, deploys a CommonJS app, writes nothing in the checkout, and SIGTERM to npm start leaves no process', async () => {
    const home = tempDir('paas-home-');
    const before = await checkoutChanges();
    // No PAAS_DATA_DIR, no PAAS_API_TOKEN: what a user's shell has.
    // NODE_PATH as a developer's shell might have it: apps must not see it.
    const env = { PATH: process.env.PATH!, HOME: home, NODE_PATH: path.join(ROOT, 'node_modules'), PORT: '0', PAAS_ROUTER_PORT: '0', PAAS_ROUTER_TLS_PORT: '0', PAAS_STOP_GRACE_MS: '3000', npm_config_update_notifier: 'false', PAAS_RUNTIME: 'process' };
    const npm = spawnChild('npm', ['start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    npm.stdout!.on('data', (d) => (out += d));
    npm.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => npm.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));

    const banner = await vi.waitFor(
      () => {
        const api = /API and git listening on (\S+)/.exec(out);
        const router = /router listening on (\S+)/.exec(out);
        if (!api || !router) throw new Error(`server not up yet:\n${out}`);
        return { apiUrl: api[1], routerUrl: router[1] };
      },
      { timeout: 30_000, interval: 50 },
    );
    const dataDir = path.join(home, '.local', 'share', 'paas');
    expect(out).toContain(`paas data dir: ${dataDir}`);
    const token = fs.readFileSync(path.join(dataDir, 'api-token'), 'utf8').trim();

    const paas: Paas = {
      ...banner,
      routerPort: Number(new URL(banner.routerUrl).port),
      routerTlsUrl: '',
      routerTlsPort: 0,
      token,
      dataDir,
      home,
      proc: npm,
      output: () => out,
      env: { PATH: process.env.PATH!, HOME: home, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@example.com' },
      stop: () => exited,
    };
    await createApp(paas, 'cjs');
    const app = nodeApp('plain commonjs');
    // Reports the Node it runs on: with no engines.node, the one that runs the server.
    app['server.js'] = app['server.js'].replace('message:', 'node: process.version, nodePath: process.env.NODE_PATH ?? null, message:');
    const dir = await gitRepo(paas, app);
    const pushed = await push(paas, dir, 'cjs');
    expect(pushed.code, pushed.stderr).toBe(0);
    // require() works: the app did not inherit paas's own "type": "module" or node_modules.
    expect(JSON.parse((await viaRouter(paas, 'cjs.localhost')).body)).toMatchObject({ message: 'plain commonjs', node: process.version, nodePath: null });
    expect(await checkoutChanges()).toEqual(before);

    const tree = [npm.pid!, ...descendants(npm.pid).map((p) => p.pid)];
    // npm, the server, and the dyno's sandbox and process at least.
    expect(tree.length).toBeGreaterThanOrEqual(4);
    npm.kill('SIGTERM');
    await exited;
    await vi.waitFor(() => expect(tree.filter(alive)).toEqual([]), { timeout: 20_000, interval: 100 });
    expect(out).toContain('SIGTERM received');
  });
});

describe('a data dir inside a Node project', () => {
  it('is warned about when there is no sandbox to hide the project from apps', async () => {
    const project = tempDir('paas-project-');
    fs.writeFileSync(path.join(project, 'package.json'), '{"type":"module"}');
    const paths = dataPaths(path.join(project, 'data'));
    const host = detectSandbox();
    expect(await prepareDataDir(paths, { ...host, kind: 'none', asRoot: false })).toEqual([expect.stringContaining(`is inside ${project}, which holds a Node project`)]);
    // In the sandbox an app sees only its own tree at /app: nothing above it to inherit.
    expect(await prepareDataDir(paths, { ...host, kind: 'bwrap' })).toEqual([]);
  });
});

describe('data of an older paas in ./.paas-data', () => {
  it('stops start-up with how to carry it over, and creates nothing', async () => {
    const cwd = tempDir('paas-old-checkout-');
    const home = tempDir('paas-home-');
    fs.mkdirSync(path.join(cwd, '.paas-data'));
    fs.writeFileSync(path.join(cwd, '.paas-data', 'paas.db'), '');
    const r = await sh(process.execPath, [BIN, 'server'], { cwd, env: { PATH: process.env.PATH!, HOME: home, PORT: '0', PAAS_ROUTER_PORT: '0', PAAS_ROUTER_TLS_PORT: '0', PAAS_RUNTIME: 'process' } });
    expect(r.code).toBe(1);
    const newDir = path.join(home, '.local', 'share', 'paas');
    expect(r.stderr).toContain(`paas now keeps its data in ${newDir}`);
    expect(r.stderr).toContain(`PAAS_DATA_DIR=${path.join(cwd, '.paas-data')}`);
    expect(fs.existsSync(newDir)).toBe(false);
  });
});
