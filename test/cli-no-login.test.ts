// The user who runs the server needs no `paas login`: the CLI, and git through `paas git:credentials`,
// read the token the server keeps in its data dir. Real server, real binary, real git, no ~/.netrc.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { staticSite } from './helpers/fixtures.js';
import { asRoot, hostCanRun, root } from './helpers/host.js';
import { BIN, gitRepo, type Paas, sh, spawnChild, startPaas, tempDir, viaRouter } from './helpers/paas.js';

/** Throws, for vi.waitFor to try again. */
function fail(why: string): never {
  throw new Error(why);
}

let paas: Paas;
let xdgDataHome: string;
let token: string;
beforeAll(async () => {
  // The server's data dir is <XDG_DATA_HOME>/paas, where its default would put it; with no
  // PAAS_API_TOKEN it generates a token and keeps it there.
  xdgDataHome = tempDir('paas-xdg-');
  paas = await startPaas({ PAAS_API_TOKEN: '', PAAS_DATA_DIR: path.join(xdgDataHome, 'paas') });
  token = fs.readFileSync(path.join(paas.dataDir, 'api-token'), 'utf8').trim();
});

/** Env for the CLI and git: a fresh temp HOME (no ~/.netrc), no PAAS_API_TOKEN, and `where` to find the data dir. */
function noLoginEnv(where: Record<string, string>): Record<string, string> {
  const home = tempDir('paas-nologin-home-');
  const env: Record<string, string> = { ...paas.env, HOME: home, ...where };
  delete env.PAAS_API_TOKEN;
  return env;
}

function paasCli(args: string[], env: Record<string, string>, cwd?: string) {
  return sh(process.execPath, [BIN, ...args], { env, cwd });
}

describe('the CLI without a login', () => {
  it.each([
    ['PAAS_DATA_DIR', () => ({ PAAS_DATA_DIR: paas.dataDir })],
    ['XDG_DATA_HOME', () => ({ XDG_DATA_HOME: xdgDataHome })],
  ])('reads the local server token from the data dir named by %s', async (_name, where) => {
    const env = noLoginEnv(where());
    expect(fs.existsSync(path.join(env.HOME, '.netrc'))).toBe(false);
    const r = await paasCli(['apps'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('You have no apps');
  });

  it('finds a server run with any PORT without PAAS_API_URL, by the URL it recorded in its data dir', async () => {
    const env = noLoginEnv({ PAAS_DATA_DIR: paas.dataDir });
    delete env.PAAS_API_URL; // the server listens on an ephemeral port, not the default 5100
    const r = await paasCli(['apps'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('You have no apps');
    // A recorded URL that nothing of ours listens on any more is not used: the default is, with the hint.
    const stale = tempDir('paas-stale-data-');
    fs.writeFileSync(path.join(stale, 'api-url'), 'http://127.0.0.1:9/\n');
    const gone = await paasCli(['apps'], { ...env, PAAS_DATA_DIR: stale });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('Not logged in to http://localhost:5100');
    expect(gone.stderr).toContain('set PAAS_API_URL=http://localhost:<PORT>');
  });

  it('reads it only for a server on loopback, and says who needs no login', async () => {
    const remote = await paasCli(['apps'], noLoginEnv({ PAAS_DATA_DIR: paas.dataDir, PAAS_API_URL: 'http://paas.invalid:5100' }));
    expect(remote.code).toBe(1);
    expect(remote.stderr).toContain('Not logged in');
    expect(remote.stderr).not.toContain('Could not reach'); // it gave up before sending the token anywhere

    const elsewhere = await paasCli(['apps'], noLoginEnv({ PAAS_DATA_DIR: path.join(xdgDataHome, 'nothing-here') }));
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toContain('paas login');
    expect(elsewhere.stderr).toContain('needs no login');
  });

  // The token file is the server user's alone (0600 in a 0700 dir): another user must log in.
  // As root, nobody must also reach this Node and checkout: not so under a 0700 home (/root). Where
  // the checkout lives is CI's choice, not a prerequisite, so that case skips even with PAAS_TEST_ALL.
  const nobodyReaches = asRoot && spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, '--help']).status === 0;
  if (asRoot && !nobodyReaches) console.log('the CLI as another user of the machine: skipped, uid 65534 cannot run this checkout (it is under a directory closed to other users)');
  const nobodyCanRun = hostCanRun('the CLI as another user of the machine', root('setpriv to another uid')) && nobodyReaches;
  it.skipIf(!nobodyCanRun)('never sends it to a port another user listens on (paas down, the port taken)', async () => {
    // Another user's server on a loopback port, recording what it is sent.
    const squatter = spawnChild('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e',
      "const s = require('http').createServer((q, r) => { console.log('GOT ' + (q.headers.authorization || 'none')); r.end('[]'); }); s.listen(0, '127.0.0.1', () => console.log('PORT ' + s.address().port));"], { stdio: ['ignore', 'pipe', 'inherit'] });
    let heard = '';
    squatter.stdout!.on('data', (d) => (heard += d));
    const port = await vi.waitFor(() => /PORT (\d+)/.exec(heard)?.[1] ?? fail('not listening yet'), { timeout: 10_000, interval: 50 });
    const r = await paasCli(['apps'], noLoginEnv({ PAAS_DATA_DIR: paas.dataDir, PAAS_API_URL: `http://127.0.0.1:${port}` }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Not logged in');
    expect(heard).not.toContain('GOT');
  });

  it.skipIf(!nobodyCanRun)('is not logged in as another user of the machine', async () => {
    const env = noLoginEnv({ PAAS_DATA_DIR: paas.dataDir });
    const r = await sh('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, 'apps'], { env: { ...env, HOME: '/nonexistent' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Not logged in');
  });
});

describe('git push without a login', () => {
  it('authenticates through the credential helper that apps:create sets up', async () => {
    const env = noLoginEnv({ XDG_DATA_HOME: xdgDataHome });
    // A user-wide helper that would answer with a wrong password: the repo's own config must win.
    fs.writeFileSync(path.join(env.HOME, '.gitconfig'), '[credential]\n\thelper = "!f() { echo username=me; echo password=wrong; }; f"\n');
    const dir = await gitRepo(paas, staticSite);

    const created = await paasCli(['apps:create', 'no-login-app'], env, dir);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('Git remote paas added');

    // The server's URL (an ephemeral port) reached apps:create through PAAS_API_URL; the push runs
    // without it: the helper has the URL it was set up for.
    const pushEnv = { ...env };
    delete pushEnv.PAAS_API_URL;
    const pushed = await sh('git', ['push', 'paas', 'main'], { cwd: dir, env: pushEnv });
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stderr).toMatch(/Released v1/);
    const res = await viaRouter(paas, 'no-login-app.localhost');
    expect(res.status).toBe(200);
    expect(res.body).toContain('hello from a static site');

    // git:remote sets the same up again without stacking helpers; the token never lands in the repo.
    const again = await paasCli(['git:remote', '-a', 'no-login-app'], env, dir);
    expect(again.stdout).toBe(`set git remote paas to ${paas.apiUrl}/no-login-app.git\n`);
    const helpers = await sh('git', ['config', '--local', '--get-all', `credential.${paas.apiUrl}.helper`], { cwd: dir, env });
    expect(helpers.stdout.split('\n').filter(Boolean)).toEqual([expect.stringMatching(/git:credentials --api-url '[^']+'$/)]);
    expect(fs.readFileSync(path.join(dir, '.git', 'config'), 'utf8')).not.toContain(token);
  });

  it('git:remote refuses outside a checkout and for an unknown app', async () => {
    const env = noLoginEnv({ PAAS_DATA_DIR: paas.dataDir });
    const outside = await paasCli(['git:remote', '-a', 'no-login-app'], env, env.HOME);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toContain('Not in a git checkout');
    const dir = await gitRepo(paas, staticSite);
    const unknown = await paasCli(['git:remote', '-a', 'ghost'], env, dir);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('ghost');
    expect((await sh('git', ['remote'], { cwd: dir, env })).stdout).toBe('');
  });
});

describe('paas git:credentials', () => {
  const apiHost = () => new URL(paas.apiUrl).host;
  // As git runs it: the action as argument, the request on stdin.
  const helper = (action: string, request: string, env: Record<string, string>) => {
    const r = spawnSync(process.execPath, [BIN, 'git:credentials', action], { env, input: request, encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('answers get for the API host with the token, and nothing else', () => {
    const env = noLoginEnv({ PAAS_DATA_DIR: paas.dataDir });
    const get = helper('get', `protocol=http\nhost=${apiHost()}\npath=no-login-app.git\n\n`, env);
    expect(get).toEqual({ code: 0, stdout: `username=paas\npassword=${token}\n`, stderr: '' });
    for (const [action, request] of [
      ['get', 'protocol=http\nhost=github.com\n\n'],
      ['get', `protocol=https\nhost=${apiHost()}\n\n`],
      ['store', `protocol=http\nhost=${apiHost()}\nusername=paas\npassword=${token}\n\n`],
      ['erase', `protocol=http\nhost=${apiHost()}\n\n`],
    ]) {
      expect(helper(action, request, env), `${action} ${request}`).toEqual({ code: 0, stdout: '', stderr: '' });
    }
  });
});
