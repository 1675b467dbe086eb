// SIGTERM with work in flight: new requests and pushes are refused with a message, a deploy gets
// PAAS_SHUTDOWN_TIMEOUT_MS to finish and is then stopped and marked failed; fatal errors end the server.
import { once } from 'node:events';
import fs from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { nodeApp, slowBuildApp } from './helpers/fixtures.js';
import { apiCall, BIN, createApp, gitRepo, push, pushInBackground, spawnChild, startPaas, tempDir } from './helpers/paas.js';
import { statuses } from './helpers/store.js';

describe('shutdown with a deploy in flight', () => {
  it('refuses new work, stops a deploy that outlives PAAS_SHUTDOWN_TIMEOUT_MS, marks it failed and exits 0', async () => {
    const paas = await startPaas({ PAAS_SHUTDOWN_TIMEOUT_MS: '3000' });
    await createApp(paas, 'slow');
    await createApp(paas, 'other');
    const dir = await gitRepo(paas, slowBuildApp(120_000));
    const other = await gitRepo(paas, nodeApp('never pushed'));
    const pushing = pushInBackground(paas, dir, 'slow');
    await vi.waitFor(() => expect(pushing.output()).toContain('build started'), { timeout: 60_000, interval: 100 });

    paas.proc.kill('SIGTERM');
    await vi.waitFor(() => expect(paas.output()).toContain('SIGTERM received'), { interval: 20 });
    // While the deploy drains: the API and git say why they refuse, and nothing new starts; reads work.
    const api = await apiCall(paas, 'POST', '/v1/apps', { name: 'latecomer' });
    expect(api.status).toBe(503);
    expect(api.json).toMatchObject({ id: 'unavailable', message: expect.stringContaining('shutting down') as unknown });
    expect((await apiCall(paas, 'GET', '/v1/apps')).status).toBe(200);
    const refused = await push(paas, other, 'other');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('The paas server is shutting down');

    const result = await pushing.done;
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('shut down before this deploy finished');
    expect(result.output).not.toMatch(/^remote: +build done/m);
    expect(await paas.stop()).toBe(0);
    expect(paas.output()).toContain('Stopping 1 deploy(s) or restart(s) still running after 3 s');
    expect(statuses(paas.dataDir).builds).toEqual(['failed']);
  });

  it('stops a release phase that outlives the timeout and marks its release failed', async () => {
    const paas = await startPaas({ PAAS_SHUTDOWN_TIMEOUT_MS: '2000' });
    await createApp(paas, 'migrating');
    const app = { ...nodeApp('never live'), Procfile: "release: echo migrating && exec sleep 120\nweb: node server.js\n" };
    const pushing = pushInBackground(paas, await gitRepo(paas, app), 'migrating');
    await vi.waitFor(() => expect(pushing.output()).toMatch(/^remote: +migrating/m), { timeout: 60_000, interval: 100 });
    paas.proc.kill('SIGTERM');
    const result = await pushing.done;
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('shut down before this deploy finished');
    expect(await paas.stop()).toBe(0);
    expect(statuses(paas.dataDir)).toEqual({ builds: ['succeeded'], releases: ['failed'] });
  });

  it('stops deploys at once on a second Ctrl-C, without waiting out the timeout', async () => {
    const paas = await startPaas({ PAAS_SHUTDOWN_TIMEOUT_MS: '600000' });
    await createApp(paas, 'impatient');
    const pushing = pushInBackground(paas, await gitRepo(paas, slowBuildApp(120_000)), 'impatient');
    await vi.waitFor(() => expect(pushing.output()).toContain('build started'), { timeout: 60_000, interval: 100 });
    paas.proc.kill('SIGINT');
    await vi.waitFor(() => expect(paas.output()).toContain('SIGINT received'), { interval: 20 });
    // Within a second it would count as the same Ctrl-C passed on by npm (the next test).
    await new Promise((r) => setTimeout(r, 1200));
    paas.proc.kill('SIGINT');
    const result = await pushing.done;
    expect(result.output).toContain('shut down before this deploy finished');
    expect(await paas.stop()).toBe(0);
    expect(paas.output()).toContain('SIGINT received again: stopping deploys in flight now');
  });

  it('lets a deploy that finishes within the timeout go live before exiting', async () => {
    const paas = await startPaas({ PAAS_SHUTDOWN_TIMEOUT_MS: '60000' });
    await createApp(paas, 'quick');
    const dir = await gitRepo(paas, slowBuildApp(1500));
    const pushing = pushInBackground(paas, dir, 'quick');
    await vi.waitFor(() => expect(pushing.output()).toContain('build started'), { timeout: 60_000, interval: 100 });
    paas.proc.kill('SIGTERM');
    const result = await pushing.done;
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain('Released v1');
    expect(await paas.stop()).toBe(0);
    expect(statuses(paas.dataDir)).toEqual({ builds: ['succeeded'], releases: ['succeeded'] });
  });
});

/** The git processes working on `dataDir`'s repositories (receive-pack and its hook, archive, gc). */
function gitProcesses(dataDir: string): string[] {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((pid) => {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
      return /(^|\/)git$/.test(argv[0]) && (argv.some((a) => a.includes(dataDir)) || env.includes(dataDir)) ? [argv.join(' ')] : [];
    } catch {
      return []; // gone meanwhile
    }
  });
}

describe('npm start in a process group of its own, as a terminal runs it', () => {
  // A terminal's Ctrl-C signals its whole foreground group: npm, the server and whatever the server
  // started; npm then passes the signal on, so the server gets it twice. A TERM to the group, the same.
  it.each(['SIGINT', 'SIGTERM'] as const)('%s to the whole group lets the deploy in flight finish and leaves no git behind', async (signal) => {
    const paas = await startPaas({ PAAS_SHUTDOWN_TIMEOUT_MS: '60000' }, { viaNpm: true });
    await createApp(paas, 'grouped');
    const pushing = pushInBackground(paas, await gitRepo(paas, slowBuildApp(2500)), 'grouped');
    await vi.waitFor(() => expect(pushing.output()).toContain('build started'), { timeout: 60_000, interval: 100 });
    process.kill(-paas.proc.pid!, signal);
    const result = await pushing.done;
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain('Released v1');
    // npm and the server end by themselves once the deploy is live and the dynos are stopped.
    if (paas.proc.exitCode === null) await once(paas.proc, 'exit');
    expect(paas.output()).toContain(`${signal} received: refusing new pushes and changes, finishing deploys`);
    expect(paas.output()).not.toContain('again: stopping deploys');
    expect(statuses(paas.dataDir)).toEqual({ builds: ['succeeded'], releases: ['succeeded'] });
    expect(gitProcesses(paas.dataDir)).toEqual([]);
  });

  it('tells the pusher in words when the deploy outlives the shutdown timeout, and no git is left hanging', async () => {
    const paas = await startPaas({ PAAS_SHUTDOWN_TIMEOUT_MS: '2000' }, { viaNpm: true });
    await createApp(paas, 'cut-short');
    const pushing = pushInBackground(paas, await gitRepo(paas, slowBuildApp(120_000)), 'cut-short');
    await vi.waitFor(() => expect(pushing.output()).toContain('build started'), { timeout: 60_000, interval: 100 });
    process.kill(-paas.proc.pid!, 'SIGINT');
    const result = await pushing.done;
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('shut down before this deploy finished');
    if (paas.proc.exitCode === null) await once(paas.proc, 'exit');
    expect(statuses(paas.dataDir).builds).toEqual(['failed']);
    expect(gitProcesses(paas.dataDir)).toEqual([]);
  });
});

describe('a fatal error', () => {
  it('is logged with its context and ends the server with a non-zero exit, not half-alive', async () => {
    const dataDir = tempDir('paas-data-');
    // A real server with a fault injected from outside: on SIGUSR2, a promise rejected with no handler.
    const inject = `data:text/javascript,process.on('SIGUSR2', () => { Promise.reject(new Error('injected fault')); });`;
    const child = spawnChild(process.execPath, ['--import', inject, BIN, 'server'], {
      env: { PATH: process.env.PATH!, HOME: dataDir, PORT: '0', PAAS_ROUTER_PORT: '0', PAAS_ROUTER_TLS_PORT: '0', PAAS_DATA_DIR: dataDir, PAAS_RUNTIME: 'process' },
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await vi.waitFor(() => expect(out).toContain('router listening'), { timeout: 30_000, interval: 20 });
    child.kill('SIGUSR2');
    const code = await exited;
    expect(code).toBe(1);
    expect(out).toContain('fatal unhandled promise rejection');
    expect(out).toContain('injected fault');
  });
});
