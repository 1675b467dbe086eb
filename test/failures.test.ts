// Failures that explain themselves: what a pusher reads when an app declares nothing to run, has
// no web process, or its web process dies or never listens while booting; and the Node buildpack's
// NODE_ENV and engines.node. Real server, real git pushes, real builds.
import fs from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, commitFiles, createApp, gitRepo, type Paas, push, startPaas, viaRouter } from './helpers/paas.js';

const BOOT_TIMEOUT_S = 7;

let paas: Paas;
beforeAll(async () => {
  paas = await startPaas({ PAAS_BOOT_TIMEOUT_MS: String(BOOT_TIMEOUT_S * 1000) });
});
afterAll(async () => {
  await paas?.stop();
  for (const dir of [paas?.dataDir, paas?.home]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const repos: string[] = [];
afterEach(() => {
  for (const dir of repos.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

async function repo(files: Record<string, string>): Promise<string> {
  const dir = await gitRepo(paas, files);
  repos.push(dir);
  return dir;
}

/** A package.json with a matching lockfile (no dependencies), so the build needs no network. */
function nodePackage(pkg: Record<string, unknown>): Record<string, string> {
  const lock = { name: pkg.name, version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: pkg.name, version: '1.0.0' } } };
  return { 'package.json': JSON.stringify({ version: '1.0.0', ...pkg }), 'package-lock.json': JSON.stringify(lock) };
}

async function releaseOf(app: string): Promise<{ version: number } | null> {
  return (await apiCall(paas, 'GET', `/v1/apps/${app}`)).json.release;
}

describe('an app that declares nothing to run', () => {
  it('is rejected, and the message names the three ways to declare a web process', async () => {
    await createApp(paas, 'no-process');
    const dir = await repo({ ...nodePackage({ name: 'idle', scripts: { test: 'node lib.js' } }), 'lib.js': 'module.exports = 42;\n' });
    const r = await push(paas, dir, 'no-process');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('[remote rejected] main -> main');
    expect(r.stderr).toContain('This app declares no process to run, so nothing would start.');
    expect(r.stderr).toContain('add a `web: <command>` line to a Procfile, a `start` script to package.json, or a `server.js` file');
    expect(await releaseOf('no-process')).toBeNull();

    // A release command alone runs once per release and keeps nothing running either.
    await commitFiles(paas, dir, { Procfile: 'release: node lib.js\n' });
    const releaseOnly = await push(paas, dir, 'no-process');
    expect(releaseOnly.code).not.toBe(0);
    expect(releaseOnly.stderr).toContain('declares no process to run (only a `release` command');
    expect(await releaseOf('no-process')).toBeNull();
  });

  it('but with other process types and no web, is accepted and says nothing answers HTTP', async () => {
    await createApp(paas, 'worker-only');
    const dir = await repo({ Procfile: 'worker: node worker.js\nrelease: true\n', 'worker.js': 'setInterval(() => console.log("working"), 1000);\n' });
    const r = await push(paas, dir, 'worker-only');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('No web process type: nothing answers HTTP for this app.');
    expect(r.stderr).toContain('Its other process types (worker) start with no dynos: scale them with `paas ps:scale worker=1`.');
    expect(r.stderr).toMatch(/Released v1/);
    expect((await viaRouter(paas, 'worker-only.localhost')).status).toBe(503);
  });
});
