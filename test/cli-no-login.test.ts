// The user who runs the server needs no `paas login`: the CLI reads the token the server keeps in
// its data dir. Real server, real binary, no ~/.netrc.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { BIN, type Paas, sh, startPaas, tempDir } from './helpers/paas.js';

let paas: Paas;
let xdgDataHome: string;
beforeAll(async () => {
  // The server's data dir is <XDG_DATA_HOME>/paas, where its default would put it; with no
  // PAAS_API_TOKEN it generates a token and keeps it there.
  xdgDataHome = tempDir('paas-xdg-');
  paas = await startPaas({ PAAS_API_TOKEN: '', PAAS_DATA_DIR: path.join(xdgDataHome, 'paas') });
});
afterAll(async () => {
  await paas?.stop();
  if (xdgDataHome) fs.rmSync(xdgDataHome, { recursive: true, force: true });
});

/** Env for the CLI: a fresh temp HOME (no ~/.netrc), no PAAS_API_TOKEN, and `where` to find the data dir. */
function noLoginEnv(where: Record<string, string>): Record<string, string> {
  const home = tempDir('paas-nologin-home-');
  onTestFinished(() => fs.rmSync(home, { recursive: true, force: true }));
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
  const nobodyCanRun = process.getuid?.() === 0 && spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, '--help']).status === 0;
  it.skipIf(!nobodyCanRun)('is not logged in as another user of the machine', async () => {
    const env = noLoginEnv({ PAAS_DATA_DIR: paas.dataDir });
    const r = await sh('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, 'apps'], { env: { ...env, HOME: '/nonexistent' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Not logged in');
  });
});
