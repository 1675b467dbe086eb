// The add-on control plane's refusals, which need no add-on server: unknown names (404), invalid
// services and attachment names (422), the confirmations the CLI asks for, and the store's schema.
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { apiCall, BIN, cli, createApp, type Paas, sh, startPaas } from './helpers/paas.js';

let paas: Paas;
beforeAll(async () => {
  paas = await startPaas();
  await createApp(paas, 'adn-plain');
});

describe('add-ons API and CLI refusals', () => {
  it('lists no add-ons, as JSON and as text', async () => {
    expect((await apiCall(paas, 'GET', '/v1/addons')).json).toEqual([]);
    const list = await cli(paas, ['addons', '-a', 'adn-plain', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([]);
    expect((await cli(paas, ['addons', '-a', 'adn-plain'])).stdout).toContain('adn-plain has no add-ons. Create one with `paas addons:create postgresql -a adn-plain`');
    expect((await cli(paas, ['addons', '--all', '--json'])).stdout.trim()).toBe('[]');
    // Outside a checkout, and without -a or --all, the app is unknown.
    const none = await cli(paas, ['addons']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('No app specified');
  });

  it.each([
    ['GET', '/v1/addons/postgresql-shiny-12345', 'paas addons --all'],
    ['GET', '/v1/addons/NOT..VALID', 'paas addons --all'],
    ['DELETE', '/v1/addons/postgresql-shiny-12345', 'paas addons --all'],
    ['POST', '/v1/addons/postgresql-shiny-12345/attachments', 'paas addons --all'],
    ['DELETE', '/v1/addons/postgresql-shiny-12345/attachments/adn-plain', 'paas addons --all'],
    ['GET', '/v1/apps/ghost/addons', 'paas apps'],
    ['POST', '/v1/apps/ghost/addons', 'paas apps'],
    ['GET', '/v1/apps/adn-plain/pg/backups', 'paas addons:create postgresql -a adn-plain'],
    ['POST', '/v1/apps/adn-plain/pg/backups', 'paas addons:create postgresql -a adn-plain'],
    ['POST', '/v1/apps/adn-plain/pg/backups/b001/restore', 'paas addons:create postgresql -a adn-plain'],
    ['GET', '/v1/apps/adn-plain/pg/backups?as=OTHER', 'paas addons -a adn-plain'],
  ])('%s %s is a 404 that says what to run', async (method, url, hint) => {
    const body = method === 'POST' && url.endsWith('attachments') ? { app: 'adn-plain' } : method === 'POST' && url.endsWith('/addons') ? { service: 'redis' } : undefined;
    const r = await apiCall(paas, method, url, body);
    expect(r.status).toBe(404);
    expect(r.json.id).toBe('not_found');
    expect(r.json.message).toContain(hint);
  });

  it.each([
    [{ service: 'mysql' }, 'paas provides postgresql and redis'],
    [{}, 'paas provides postgresql and redis'],
    [{ service: 'redis', as: '1abc' }, 'Invalid attachment name'],
    [{ service: 'postgres', as: 'bad-name' }, 'Invalid attachment name'],
    [{ service: 'postgresql', as: 'X'.repeat(31) }, 'Invalid attachment name'],
  ])('refuses to create %j with a 422', async (body, message) => {
    const r = await apiCall(paas, 'POST', '/v1/apps/adn-plain/addons', body);
    expect(r.status).toBe(422);
    expect(r.json).toEqual({ id: 'invalid_params', message: expect.stringContaining(message) });
    expect((await apiCall(paas, 'GET', '/v1/addons')).json).toEqual([]);
  });

  it('refuses an attachment without an app, and through the CLI an unknown add-on', async () => {
    const r = await apiCall(paas, 'POST', '/v1/addons/postgresql-shiny-12345/attachments', {});
    expect(r.status).toBe(422);
    const attach = await cli(paas, ['addons:attach', 'postgresql-shiny-12345', '-a', 'adn-plain']);
    expect(attach.code).toBe(1);
    expect(attach.stderr).toContain("Couldn't find that add-on");
    const info = await cli(paas, ['addons:info', 'redis-calm-55555']);
    expect(info.code).toBe(1);
    expect(info.stderr).toContain("Couldn't find that add-on");
  });

  it('asks for confirmation before destroying an add-on or restoring a backup', async () => {
    const destroy = await cli(paas, ['addons:destroy', 'postgresql-shiny-12345']);
    expect(destroy.code).toBe(1);
    expect(destroy.stderr).toContain('To proceed, run: paas addons:destroy postgresql-shiny-12345 --confirm postgresql-shiny-12345');
    const wrong = await cli(paas, ['addons:destroy', 'postgresql-shiny-12345', '--confirm', 'postgresql-shiny-54321']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('To proceed');
    const restore = await cli(paas, ['pg:backups:restore', 'b001', '-a', 'adn-plain']);
    expect(restore.code).toBe(1);
    expect(restore.stderr).toContain('To proceed, run: paas pg:backups:restore b001 -a adn-plain --confirm adn-plain');
    const backups = await cli(paas, ['pg:backups', '-a', 'adn-plain']);
    expect(backups.code).toBe(1);
    expect(backups.stderr).toContain('adn-plain has no PostgreSQL add-on');
  });

  it('lets an app without add-ons set its own DATABASE_URL, and destroys it as before', async () => {
    await createApp(paas, 'adn-own');
    const set = await cli(paas, ['config:set', 'DATABASE_URL=postgres://me:pw@db.example.com/x', '-a', 'adn-own']);
    expect(set.code, set.stderr).toBe(0);
    expect((await apiCall(paas, 'GET', '/v1/apps/adn-own/config')).json).toEqual({ DATABASE_URL: 'postgres://me:pw@db.example.com/x' });
    expect((await apiCall(paas, 'DELETE', '/v1/apps/adn-own')).status).toBe(204);
  });

  it('keeps add-ons, attachments and backups in the store (migration 8)', () => {
    const db = new Database(path.join(paas.dataDir, 'paas.db'), { readonly: true });
    try {
      const columns = (table: string) => (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
      expect(columns('addons')).toEqual(['id', 'name', 'service', 'version', 'uid', 'user', 'database', 'password', 'port', 'handle', 'state', 'created_at']);
      expect(columns('addon_attachments')).toEqual(['addon_id', 'app_id', 'as_name', 'created_at']);
      expect(columns('pg_backups')).toEqual(['id', 'addon_id', 'created_at', 'size', 'status', 'file']);
      expect(db.pragma('user_version', { simple: true })).toBeGreaterThanOrEqual(8); // later migrations (9: app networks) come after
    } finally {
      db.close();
    }
  });
});

describe('addons:create on a terminal', () => {
  it('says what it waits for, with the seconds spent, and what it made', async () => {
    await createApp(paas, 'adn-tty');
    // Under a pseudo-terminal (util-linux script), as a person runs it: progress goes to its stderr.
    const command = [process.execPath, BIN, 'addons:create', 'redis', '-a', 'adn-tty'].map((w) => `'${w}'`).join(' ');
    const r = await sh('script', ['-qec', command, '/dev/null'], { env: paas.env });
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/Creating redis on adn-tty \(a Redis server of its own, started\)\.\.\. \d+ s/);
    expect(r.stdout).toMatch(/redis-[a-z]+-\d+ attached as REDIS_URL; restarting adn-tty with it/);
    // Piped (no terminal), only the add-on's name goes out, on stdout.
    const piped = await cli(paas, ['addons:create', 'redis', '-a', 'adn-tty', '--as', 'CACHE']);
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout).toMatch(/^redis-[a-z]+-\d+\n$/);
    expect(piped.stderr).toBe('');
  });
});
