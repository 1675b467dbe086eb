import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { parseProcfile } from '../builder/procfile.js';
import { readNetrcPassword, writeNetrcEntry } from '../cli/netrc.js';
import { ConfigError, loadConfig } from '../server/config.js';
import { openStore } from '../server/store/db.js';
import { migrations } from '../server/store/migrations.js';
import { insertApp } from '../server/store/apps.js';
import { insertRelease } from '../server/store/releases.js';
import { tempDir } from './helpers/paas.js';

describe('config', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 5100, routerPort: 8080, domain: 'localhost', runtime: 'process', apiToken: undefined });
    expect(c.dataDir).toBe(path.resolve('.paas-data'));
  });

  it('reads the pinned env names', () => {
    const c = loadConfig({ PORT: '7000', PAAS_ROUTER_PORT: '7001', PAAS_DATA_DIR: '/tmp/x', PAAS_API_TOKEN: 't', PAAS_DOMAIN: 'Apps.Example.com', PAAS_RUNTIME: 'process' });
    expect(c).toMatchObject({ port: 7000, routerPort: 7001, dataDir: '/tmp/x', apiToken: 't', domain: 'apps.example.com' });
  });

  it.each([{ PORT: '-1' }, { PORT: '70000' }, { PAAS_ROUTER_PORT: 'x' }, { PAAS_RUNTIME: 'kubernetes' }, { PAAS_DOMAIN: 'bad domain' }])('rejects %j', (env) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
  });

  it('never passes its own secrets to builds and dynos', () => {
    const c = loadConfig({ PAAS_API_TOKEN: 'secret', PATH: '/usr/bin', HOME: '/root' });
    expect(Object.values(c.baseEnv)).not.toContain('secret');
    expect(Object.keys(c.baseEnv).sort()).toEqual(['HOME', 'PATH']);
  });
});

describe('Procfile', () => {
  it('parses types and skips comments and blank lines', () => {
    expect(parseProcfile('# comment\nweb: node server.js --port $PORT\n\nworker:  python work.py\n')).toEqual({
      types: { web: 'node server.js --port $PORT', worker: 'python work.py' },
    });
  });

  it('reports the first malformed line', () => {
    expect(parseProcfile('web: ok\nthis is wrong\n')).toEqual({ error: expect.stringContaining('line 2') });
  });
});

describe('store', () => {
  it('migrates a new store to the latest version', () => {
    const db = openStore(path.join(tempDir(), 'paas.db'));
    expect(db.pragma('user_version', { simple: true })).toBe(migrations.length);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    db.close();
  });

  it('allocates consecutive release versions per app', () => {
    const db = openStore(path.join(tempDir(), 'paas.db'));
    const a = insertApp(db, 'one', 'now', { first: 300000, last: 300001 });
    const b = insertApp(db, 'two', 'now', { first: 300000, last: 300001 });
    const versions = [a, a, b, a].map((app) => insertRelease(db, { app_id: app.id, build_id: null, status: 'succeeded', description: 'x', created_at: 'now', config: '{}', created_by: 'test' }).version);
    expect(versions).toEqual([1, 2, 1, 3]);
    db.close();
  });

  it('refuses a store whose integrity check fails, without writing to it', () => {
    const file = path.join(tempDir(), 'paas.db');
    const db = new Database(file);
    db.exec('CREATE TABLE t (x TEXT); INSERT INTO t VALUES (randomblob(100000));');
    db.close();
    // Damage a page in the middle of the file, keeping the header valid.
    const bytes = fs.readFileSync(file);
    bytes.fill(0xff, 4096 * 2, 4096 * 3);
    fs.writeFileSync(file, bytes);
    expect(() => openStore(file)).toThrow(/corrupt/);
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
  });
});

describe('netrc', () => {
  it('adds and replaces one machine, keeping the others', () => {
    const home = tempDir();
    const old = process.env.HOME;
    process.env.HOME = home;
    try {
      fs.writeFileSync(path.join(home, '.netrc'), 'machine github.com\n  login me\n  password gh\n');
      writeNetrcEntry('localhost', 'paas', 'one');
      writeNetrcEntry('localhost', 'paas', 'two');
      expect(readNetrcPassword('localhost')).toBe('two');
      expect(readNetrcPassword('github.com')).toBe('gh');
    } finally {
      process.env.HOME = old;
    }
  });
});
