// Add-ons with a real app: a Node app using the npm `pg` and `redis` clients through DATABASE_URL
// and REDIS_URL, pushed with git, its add-ons real PostgreSQL and Redis servers that paas runs.
// Its data survives a redeploy, a rollback, ps:restart and a restart of paas; a backup restores;
// two apps share one database; an add-on killed from outside comes back; no password leaks.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { addonApp } from './helpers/addon-app.js';
import { paasRun } from './helpers/run.js';
import { cli, commitFiles, createApp, gitRepo, type Paas, push, startPaas, viaRouter } from './helpers/paas.js';

let paas: Paas;
let repo: string;
let pg = '';
let redis = '';
const APP = 'shop';

/** A JSON answer of the app through the router; throws with the body unless 200. */
async function ask(path: string, method = 'GET', app = APP): Promise<Record<string, number>> {
  const r = await viaRouter(paas, `${app}.localhost`, path, method);
  if (r.status !== 200) throw new Error(`${method} ${path} answered ${r.status}: ${r.body.slice(0, 300)}`);
  return JSON.parse(r.body) as Record<string, number>;
}

/** Waits until the app answers `path` with `expected` (dynos restart after every change). */
async function eventually(path: string, expected: Record<string, number>, app = APP): Promise<void> {
  await vi.waitFor(async () => expect(await ask(path, 'GET', app)).toEqual(expected), { timeout: 60_000, interval: 300 });
}

async function ok(args: string[]): Promise<string> {
  const r = await cli(paas, args);
  expect(r.code, `paas ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

function config(app = APP): Promise<Record<string, string>> {
  return ok(['config', '-a', app, '--json']).then((out) => JSON.parse(out) as Record<string, string>);
}

beforeAll(async () => {
  paas = await startPaas();
  await createApp(paas, APP);
  repo = await gitRepo(paas, await addonApp());
  const pushed = await push(paas, repo, APP);
  expect(pushed.code, pushed.stderr).toBe(0);
  pg = (await ok(['addons:create', 'postgresql', '-a', APP])).trim();
  redis = (await ok(['addons:create', 'redis', '-a', APP])).trim();
  expect(pg).toMatch(/^postgresql-[a-z]+-\d+$/);
  expect(redis).toMatch(/^redis-[a-z]+-\d+$/);
}, 180_000);

describe('an app with PostgreSQL and Redis add-ons', () => {
  it('gets DATABASE_URL and REDIS_URL, and its data survives a redeploy, a rollback and ps:restart', async () => {
    const vars = await config();
    expect(vars.DATABASE_URL).toMatch(/^postgres(ql)?:\/\//);
    expect(vars.REDIS_URL).toMatch(/^rediss?:\/\//);
    await eventually('/rows', { rows: 0 });
    for (let i = 0; i < 3; i++) await ask('/rows/kept', 'POST');
    await ask('/counter', 'POST');
    await ask('/counter', 'POST');
    await eventually('/rows', { rows: 3 });

    await commitFiles(paas, repo, { 'CHANGES.md': 'a redeploy\n' });
    const pushed = await push(paas, repo, APP);
    expect(pushed.code, pushed.stderr).toBe(0);
    await eventually('/rows', { rows: 3 });

    // Back to the release before the redeploy: the app's own config, the add-ons still attached.
    await ok(['releases:rollback', '-a', APP]);
    await vi.waitFor(async () => expect((await ok(['releases', '-a', APP, '--json'])).includes('Rollback')).toBe(true), { timeout: 30_000 });
    await eventually('/rows', { rows: 3 });
    expect((await config()).DATABASE_URL).toBe(vars.DATABASE_URL);

    await ok(['ps:restart', '-a', APP]);
    await eventually('/rows', { rows: 3 });
    await eventually('/counter', { counter: 2 });
  });

  it('restores a backup: more writes after it are gone', async () => {
    const before = (await ask('/rows')).rows;
    await ok(['pg:backups:capture', '-a', APP]);
    const list = JSON.parse(await ok(['pg:backups', '-a', APP, '--json'])) as { id: string }[];
    expect(list.length).toBeGreaterThan(0);
    const id = list.at(-1)!.id;
    await ask('/rows/later', 'POST');
    await ask('/rows/later', 'POST');
    expect((await ask('/rows')).rows).toBe(before + 2);
    const refused = await cli(paas, ['pg:backups:restore', id, '-a', APP]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/--confirm/);
    await ok(['pg:backups:restore', id, '-a', APP, '--confirm', APP]);
    await eventually('/rows', { rows: before });
  });

  it('shares one database between two apps attached to it', async () => {
    await createApp(paas, 'shop-admin');
    const pushed = await push(paas, await gitRepo(paas, await addonApp()), 'shop-admin');
    expect(pushed.code, pushed.stderr).toBe(0);
    await ok(['addons:attach', pg, '-a', 'shop-admin']);
    const rows = (await ask('/rows')).rows;
    await eventually('/rows', { rows }, 'shop-admin');
    await ask('/rows/from-admin', 'POST', 'shop-admin');
    await eventually('/rows', { rows: rows + 1 });
    const listed = JSON.parse(await ok(['addons', '--all', '--json'])) as { name: string; attachments: { app: string; as: string }[] }[];
    expect(listed.find((a) => a.name === pg)?.attachments).toEqual(expect.arrayContaining([{ app: APP, as: 'DATABASE' }, { app: 'shop-admin', as: 'DATABASE' }]));
  });

  it('brings back an add-on killed from outside', async () => {
    const rows = (await ask('/rows')).rows;
    // The postmaster and redis-server of these add-ons, found by their data directories.
    for (const name of [pg, redis]) {
      const pids = execFileSync('pgrep', ['-f', `${paas.dataDir}/addons/${name}`]).toString().trim().split('\n').map(Number);
      expect(pids.length).toBeGreaterThan(0);
      for (const pid of pids) process.kill(pid, 'SIGKILL');
    }
    await eventually('/rows', { rows });
    await vi.waitFor(async () => expect((await ask('/counter')).counter).toBeGreaterThanOrEqual(2), { timeout: 60_000, interval: 300 });
  });

  it('shows no add-on password in paas logs, addons --json, addons:info or the server output', async () => {
    const vars = await config();
    const secrets = [new URL(vars.DATABASE_URL).password, new URL(vars.REDIS_URL).password].map(decodeURIComponent);
    for (const s of secrets) expect(s.length).toBeGreaterThanOrEqual(16);
    const seen = [
      await ok(['logs', '-a', APP, '-n', '1500']),
      await ok(['addons', '--all', '--json']),
      await ok(['addons:info', pg, '--json']),
      await ok(['addons:info', redis]),
      paas.output(),
    ].join('\n');
    for (const s of secrets) expect(seen.includes(s)).toBe(false);
  });

  it("keeps the add-on's files from the app's dynos", async () => {
    // The probe itself works: it reads the app's own files.
    expect((await paasRun(paas, APP, ['sh', '-c', `ls -la "$1" || cat "$1"`, 'probe', '/app/server.js'])).code).toBe(0);
    // Wherever the add-on's files are on the host, a dyno can neither list nor read them.
    for (const file of [`${paas.dataDir}/addons/${pg}`, `${paas.dataDir}/addons/${pg}/data/PG_VERSION`, `${paas.dataDir}/addons/${redis}`]) {
      expect(fs.existsSync(file), `${file} is not where the add-on keeps its data`).toBe(true);
      const r = await paasRun(paas, APP, ['sh', '-c', `ls -la "$1" || cat "$1"`, 'probe', file]);
      expect(r.code, `${file} was readable from a dyno:\n${r.stdout}`).not.toBe(0);
    }
  });

  // Last: the restarted server lives only as long as this test.
  it('keeps the rows and the Redis counter across a restart of paas', async () => {
    const rows = (await ask('/rows')).rows;
    const counter = (await ask('/counter')).counter;
    const port = new URL(paas.apiUrl).port;
    expect(await paas.stop()).toBe(0);
    paas = await startPaas({ PAAS_DATA_DIR: paas.dataDir, PAAS_API_TOKEN: paas.token, PORT: port });
    await eventually('/rows', { rows });
    await eventually('/counter', { counter });
  });
});
