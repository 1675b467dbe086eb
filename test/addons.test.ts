// Add-ons end to end on the process runtime: real PostgreSQL and Redis servers, the real CLI and
// real pushes of a Procfile-only app that says which add-on vars its dyno sees. Attachments are
// releases, a rollback keeps them, the platform's vars are the platform's, backups round-trip
// (counted with the host's psql through the URL in the app's config), and no password leaks.
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Addon, Backup, Release } from '../cli/types.js';
import { addonVarsApp } from './helpers/fixtures.js';
import { apiCall, cli, createApp, gitRepo, type Paas, push, sh, startPaas, viaRouter } from './helpers/paas.js';

let paas: Paas;
let repo: string;
beforeAll(async () => {
  paas = await startPaas();
  repo = await gitRepo(paas, addonVarsApp);
});

async function deployed(app: string): Promise<void> {
  await createApp(paas, app);
  const r = await push(paas, repo, app);
  expect(r.code, r.stderr).toBe(0);
}

async function ok(args: string[]): Promise<string> {
  const r = await cli(paas, args);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

async function configOf(app: string): Promise<Record<string, string>> {
  return (await apiCall(paas, 'GET', `/v1/apps/${app}/config`)).json as Record<string, string>;
}

async function sees(app: string): Promise<{ database: boolean; redis: boolean; other: boolean }> {
  const r = await viaRouter(paas, `${app}.localhost`);
  expect(r.status, r.body).toBe(200);
  return JSON.parse(r.body) as { database: boolean; redis: boolean; other: boolean };
}

async function latest(app: string): Promise<Release> {
  return (JSON.parse(await ok(['releases', '-a', app, '--json'])) as Release[])[0];
}

async function psql(url: string, sql: string): Promise<string> {
  const r = await sh('psql', [url, '-Atc', sql], { env: { PATH: process.env.PATH!, PGCONNECT_TIMEOUT: '5' } });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

describe('add-ons', () => {
  let pg: string;
  let url: string;
  let password: string;

  it('creates a PostgreSQL add-on: DATABASE_URL in the config, a new release, and the dyno sees it', async () => {
    await deployed('adn-one');
    expect(await sees('adn-one')).toEqual({ database: false, redis: false, other: false });
    const before = await latest('adn-one');
    const created = await cli(paas, ['addons:create', 'postgres', '-a', 'adn-one']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^postgresql-[a-z]+-\d{5}\n$/);
    pg = created.stdout.trim();
    url = (await configOf('adn-one')).DATABASE_URL;
    expect(url).toMatch(/^postgres(ql)?:\/\/[^:]+:[^@]+@[^/]+\/\S+$/);
    password = decodeURIComponent(new URL(url).password);
    expect(password.length).toBeGreaterThanOrEqual(16);
    const release = await latest('adn-one');
    expect(release).toMatchObject({ version: before.version + 1, description: `Attach DATABASE (${pg})`, status: 'succeeded', current: true });
    expect(await sees('adn-one')).toEqual({ database: true, redis: false, other: false });
    expect(await psql(url, 'SELECT 1')).toBe('1');
  });

  it('shows the add-on with exactly its pinned fields, and never its password', async () => {
    const list = JSON.parse(await ok(['addons', '-a', 'adn-one', '--json'])) as Addon[];
    expect(list).toEqual([{ name: pg, service: 'postgresql', version: expect.stringMatching(/^\d+(\.\d+)*/), state: 'running', attachments: [{ app: 'adn-one', as: 'DATABASE' }], created_at: expect.any(String) }]);
    expect(JSON.parse(await ok(['addons', '--all', '--json']))).toEqual(list);
    expect(JSON.parse(await ok(['addons:info', pg, '--json']))).toEqual(list[0]);
    const texts = [await ok(['addons', '-a', 'adn-one']), await ok(['addons:info', pg]), JSON.stringify((await apiCall(paas, 'GET', '/v1/addons')).json)];
    expect(texts[0]).toContain(`${pg}  postgresql`);
    expect(texts[1]).toContain('adn-one::DATABASE');
    for (const text of texts) expect(text).not.toContain(password);
  });

  it("refuses config:set and config:unset of the add-on's var, and an attachment over the app's own var", async () => {
    for (const args of [['config:set', 'DATABASE_URL=postgres://elsewhere/x'], ['config:unset', 'DATABASE_URL']]) {
      const r = await cli(paas, [...args, '-a', 'adn-one']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`paas addons:detach ${pg} -a adn-one`);
      expect(r.stderr).not.toContain(password);
    }
    const body = await apiCall(paas, 'PATCH', '/v1/apps/adn-one/config', { DATABASE_URL: 'x' });
    expect(body.status).toBe(409);
    expect(JSON.stringify(body.json)).not.toContain(password);

    await deployed('adn-own');
    await ok(['config:set', 'DATABASE_URL=postgres://me:mine@db.example.com/x', '-a', 'adn-own']);
    const over = await cli(paas, ['addons:attach', pg, '-a', 'adn-own']);
    expect(over.code).toBe(1);
    expect(over.stderr).toContain('--as NAME');
    await ok(['addons:attach', pg, '--as', 'other', '-a', 'adn-own']);
    const config = await configOf('adn-own');
    expect(config).toEqual({ DATABASE_URL: 'postgres://me:mine@db.example.com/x', OTHER_URL: url });
    expect(await sees('adn-own')).toEqual({ database: true, redis: false, other: true });
  });

  it('attaches one add-on to two apps, which see the same rows', async () => {
    await deployed('adn-two');
    const out = await ok(['addons:attach', pg, '-a', 'adn-two']);
    expect(out).toMatch(new RegExp(`^Attached ${pg} to adn-two as DATABASE_URL \\(v\\d+\\)\\n$`));
    expect((await configOf('adn-two')).DATABASE_URL).toBe(url);
    expect(await sees('adn-two')).toMatchObject({ database: true });
    const again = await apiCall(paas, 'POST', `/v1/addons/${pg}/attachments`, { app: 'adn-two', as: 'SECOND' });
    expect(again.status).toBe(409);
    const addon = JSON.parse(await ok(['addons:info', pg, '--json'])) as Addon;
    expect(addon.attachments).toEqual([
      { app: 'adn-one', as: 'DATABASE' },
      { app: 'adn-own', as: 'OTHER' },
      { app: 'adn-two', as: 'DATABASE' },
    ]);
  });

  it('keeps the add-on attached through a rollback, which restores only the app’s own config', async () => {
    await ok(['config:set', 'GREETING=hi', '-a', 'adn-one']);
    const set = await latest('adn-one');
    await ok(['releases:rollback', `v${set.version - 1}`, '-a', 'adn-one']);
    const config = await configOf('adn-one');
    expect(config.GREETING).toBeUndefined();
    expect(config.DATABASE_URL).toBe(url);
    expect(await sees('adn-one')).toMatchObject({ database: true });
  });

  it('captures, lists and restores backups', async () => {
    await psql(url, 'CREATE TABLE notes (id serial PRIMARY KEY, body text); INSERT INTO notes (body) SELECT g::text FROM generate_series(1, 3) g');
    const id = (await ok(['pg:backups:capture', '-a', 'adn-one'])).trim();
    expect(id).toBe('b001');
    await psql(url, "INSERT INTO notes (body) VALUES ('4'), ('5')");
    const backups = JSON.parse(await ok(['pg:backups', '-a', 'adn-one', '--json'])) as Backup[];
    expect(backups).toEqual([{ id: 'b001', addon: pg, status: 'succeeded', size: expect.any(Number), created_at: expect.any(String) }]);
    expect(backups[0].size).toBeGreaterThan(0);
    const unconfirmed = await cli(paas, ['pg:backups:restore', 'b001', '-a', 'adn-one']);
    expect(unconfirmed.code).toBe(1);
    expect(await psql(url, 'SELECT count(*) FROM notes')).toBe('5');
    expect(await ok(['pg:backups:restore', 'b001', '-a', 'adn-one', '--confirm', 'adn-one'])).toContain(`Restored b001 into ${pg}`);
    expect(await psql(url, 'SELECT count(*) FROM notes')).toBe('3');
    // Through the other app's attachment it is the same add-on; an unknown id is a 404.
    expect((await apiCall(paas, 'POST', '/v1/apps/adn-two/pg/backups/b009/restore')).status).toBe(404);
  });

  it('picks the database with --as when an app has two, and destroys one with --force', async () => {
    const second = (await ok(['addons:create', 'postgresql', '--as', 'second', '-a', 'adn-one'])).trim();
    expect(Object.keys(await configOf('adn-one'))).toEqual(expect.arrayContaining(['DATABASE_URL', 'SECOND_URL']));
    const ambiguous = await cli(paas, ['pg:backups', '-a', 'adn-one']);
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toContain('adn-one has 2 PostgreSQL add-ons (DATABASE, SECOND). Pick one with --as NAME.');
    expect(JSON.parse(await ok(['pg:backups', '-a', 'adn-one', '--as', 'second', '--json']))).toEqual([]);
    expect(JSON.parse(await ok(['pg:backups', '-a', 'adn-one', '--as', 'DATABASE', '--json']))).toHaveLength(1);
    expect(await ok(['addons:destroy', second, '--confirm', second, '--force'])).toBe(`Destroyed ${second}\n`);
    expect((await configOf('adn-one')).SECOND_URL).toBeUndefined();
    expect(await latest('adn-one')).toMatchObject({ description: `Detach SECOND (${second})` });
  });

  it('detaches in a new release that removes the var; the add-on and its data stay', async () => {
    const out = await ok(['addons:detach', pg, '-a', 'adn-two']);
    expect(out).toContain(`Detached ${pg} from adn-two`);
    expect(await latest('adn-two')).toMatchObject({ description: `Detach DATABASE (${pg})`, status: 'succeeded' });
    expect((await configOf('adn-two')).DATABASE_URL).toBeUndefined();
    expect(await sees('adn-two')).toMatchObject({ database: false });
    expect(await psql(url, 'SELECT count(*) FROM notes')).toBe('3');
  });

  it('refuses addons:destroy without --confirm, and while attached without --force', async () => {
    const bare = await cli(paas, ['addons:destroy', pg]);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain(`--confirm ${pg}`);
    const attached = await cli(paas, ['addons:destroy', pg, '--confirm', pg]);
    expect(attached.code).toBe(1);
    expect(attached.stderr).toContain('--force');
    expect(attached.stderr).not.toContain(password);
    expect(JSON.parse(await ok(['addons', '--all', '--json']))).toHaveLength(1);
    for (const app of ['adn-one', 'adn-two', 'adn-own']) expect(await ok(['logs', '-a', app, '-n', '1000'])).not.toContain(password);
  });

  it('keeps add-on data when an app is destroyed, unless --destroy-addons', async () => {
    const kept = await ok(['apps:destroy', 'adn-one', '--confirm', 'adn-one']);
    expect(kept).toContain(`Kept add-on ${pg} and its data`);
    expect(await psql(url, 'SELECT count(*) FROM notes')).toBe('3');
    await ok(['addons:create', 'redis', '-a', 'adn-own']);
    expect(await sees('adn-own')).toEqual({ database: true, redis: true, other: true });
    const redis = (JSON.parse(await ok(['addons', '-a', 'adn-own', '--json'])) as Addon[]).find((a) => a.service === 'redis')!;
    expect(redis.attachments).toEqual([{ app: 'adn-own', as: 'REDIS' }]);
    // The PostgreSQL add-on is attached to adn-own alone now: both go.
    const gone = await ok(['apps:destroy', 'adn-own', '--confirm', 'adn-own', '--destroy-addons']);
    expect(gone).toContain(`Destroyed add-on ${pg}`);
    expect(gone).toContain(`Destroyed add-on ${redis.name}`);
    expect(JSON.parse(await ok(['addons', '--all', '--json']))).toEqual([]);
  });

  it("wrote no password to the server's log", () => {
    expect(paas.output()).not.toContain(password);
  });
});

describe('add-ons across a server restart', () => {
  it('stops them after the dynos on shutdown, and starts them before the apps come back', async () => {
    await deployed('adn-back');
    const name = (await ok(['addons:create', 'postgresql', '-a', 'adn-back'])).trim();
    const url = (await configOf('adn-back')).DATABASE_URL;
    await psql(url, 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (1), (2)');
    expect(await paas.stop()).toBe(0);
    const down = await sh('psql', [url, '-Atc', 'SELECT 1'], { env: { PATH: process.env.PATH!, PGCONNECT_TIMEOUT: '2' } });
    expect(down.code).not.toBe(0);

    paas = await startPaas({ PAAS_DATA_DIR: paas.dataDir, PAAS_API_TOKEN: paas.token });
    // The app comes back once its release is restored; its add-on was started before.
    const back = await vi.waitFor(async () => {
      const r = await viaRouter(paas, 'adn-back.localhost');
      if (r.status !== 200) throw new Error(`still ${r.status}`);
      return JSON.parse(r.body) as { database: boolean };
    }, { timeout: 20_000, interval: 100 });
    expect(back).toMatchObject({ database: true });
    expect(await psql(url, 'SELECT count(*) FROM kept')).toBe('2');
    expect(JSON.parse(await ok(['addons', '-a', 'adn-back', '--json']))).toEqual([expect.objectContaining({ name, state: 'running' })]);
  });
});
