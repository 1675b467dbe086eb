import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { eachLine } from '../lib/lines.js';
import { OutputTail } from '../server/dynos/boot-report.js';
import { parseProcfile } from '../builder/procfile.js';
import { readNetrcPassword, writeNetrcEntry } from '../cli/netrc.js';
import { loadRouterConfig, RouterConfigError } from '../router/config.js';
import { boundedLines } from '../server/http/bounded-output.js';
import { ConfigError, loadConfig } from '../server/config.js';
import { parseConfigChange } from '../server/control/config-vars.js';
import { ReleaseOutputs } from '../server/control/release-output.js';
import { openStore } from '../server/store/db.js';
import { migrations } from '../server/store/migrations.js';
import { assignMissingUids, deleteApp, findApp, insertApp } from '../server/store/apps.js';
import { insertRelease } from '../server/store/releases.js';
import { tempDir } from './helpers/paas.js';

describe('config', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 5100, routerPort: 8080, domain: 'localhost', runtime: undefined, apiToken: undefined });
    // The user's data dir (XDG), never one relative to where the server was started.
    expect(loadConfig({ HOME: '/home/u' }).dataDir).toBe('/home/u/.local/share/paas');
    expect(loadConfig({ HOME: '/home/u', XDG_DATA_HOME: '/xdg' }).dataDir).toBe('/xdg/paas');
    expect(loadConfig({ HOME: '/home/u', XDG_DATA_HOME: 'relative' }).dataDir).toBe('/home/u/.local/share/paas');
    expect(loadConfig({ HOME: '/home/u', XDG_DATA_HOME: '/xdg', PAAS_DATA_DIR: 'here' }).dataDir).toBe(path.resolve('here'));
    expect(c.shutdownTimeoutMs).toBe(30_000);
    // Heroku's router gives a dyno 30 s for its first byte; the embedded router runs one worker per CPU.
    expect(c).toMatchObject({ routerTimeoutMs: 30_000, routerWorkers: os.availableParallelism(), trustedProxies: '' });
    expect(c.docker).toMatchObject({ stackImage: 'paas/stack:bookworm', dynoMemory: '512m', dynoMemoryBytes: 512 * 1024 ** 2, bindAddress: '127.0.0.1', network: 'paas', buildCaFile: undefined });
    // A host that trusts an extra CA (a TLS-intercepting proxy) has its builds trust it too.
    expect(loadConfig({ NODE_EXTRA_CA_CERTS: '/etc/extra.pem' }).docker.buildCaFile).toBe('/etc/extra.pem');
    const a = path.join(tempDir(), 'a.pem');
    fs.writeFileSync(a, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    expect(loadConfig({ SSL_CERT_FILE: '/etc/b.pem', PAAS_BUILD_CA_FILE: a }).docker.buildCaFile).toBe(a);
    expect(loadConfig({ PAAS_DYNO_MEMORY: '1g' }).docker.dynoMemoryBytes).toBe(1024 ** 3);
  });

  it('reads the pinned env names', () => {
    const c = loadConfig({ PORT: '7000', PAAS_ROUTER_PORT: '7001', PAAS_DATA_DIR: '/tmp/x', PAAS_API_TOKEN: 't', PAAS_DOMAIN: 'Apps.Example.com', PAAS_RUNTIME: 'process' });
    expect(c).toMatchObject({ port: 7000, routerPort: 7001, dataDir: '/tmp/x', apiToken: 't', domain: 'apps.example.com' });
  });

  it.each([{ PORT: '-1' }, { PORT: '70000' }, { PAAS_ROUTER_PORT: 'x' }, { PAAS_ROUTER_TLS_PORT: '65536' }, { PAAS_RUNTIME: 'kubernetes' }, { PAAS_DYNO_MEMORY: 'lots' }, { PAAS_DYNO_MEMORY: '1m' }, { PAAS_STACK_IMAGE: 'Bad Image' }, { PAAS_DOMAIN: 'bad domain' }, { PAAS_APP_UIDS: '300000' }, { PAAS_APP_UIDS: '0-10' }, { PAAS_APP_UIDS: '5000-4000' }, { PAAS_ROUTER_WORKERS: '0' }, { PAAS_TRUSTED_PROXIES: '10.0.0.0/33' }])('rejects %j', (env) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
  });

  it("reads a standalone router's env, with the loopback token fallback, and says what is missing", () => {
    const c = loadRouterConfig({ PAAS_API_URL: 'http://127.0.0.1:5100/', PAAS_API_TOKEN: 't' });
    expect(c).toEqual({ apiUrl: 'http://127.0.0.1:5100', token: 't', port: 8080, tlsPort: 8443, host: '127.0.0.1', domain: undefined, workers: os.availableParallelism(), timeoutMs: 30_000, trustedProxies: '' });
    const env = { PAAS_API_URL: 'https://api.example.com', PAAS_API_TOKEN: 't', PAAS_ROUTER_PORT: '0', PAAS_ROUTER_TLS_PORT: '0', PAAS_BIND_HOST: '0.0.0.0', PAAS_DOMAIN: 'Apps.Example.com', PAAS_ROUTER_WORKERS: '3', PAAS_ROUTER_TIMEOUT_MS: '5000', PAAS_TRUSTED_PROXIES: '10.0.0.0/8' };
    expect(loadRouterConfig(env)).toMatchObject({ port: 0, tlsPort: 0, host: '0.0.0.0', domain: 'apps.example.com', workers: 3, timeoutMs: 5000, trustedProxies: '10.0.0.0/8' });
    // The token of this user's own server is for a loopback API only.
    expect(loadRouterConfig({ PAAS_API_URL: 'http://localhost:5100' }, () => 'local').token).toBe('local');
    expect(() => loadRouterConfig({ PAAS_API_URL: 'http://10.0.0.5:5100' }, () => 'local')).toThrow(/PAAS_API_TOKEN/);
    for (const bad of [{}, { PAAS_API_URL: 'nope' }, { PAAS_API_URL: 'ws://x' }, { ...env, PAAS_ROUTER_WORKERS: '0' }, { ...env, PAAS_ROUTER_PORT: '70000' }, { ...env, PAAS_ROUTER_TLS_PORT: '70000' }, { ...env, PAAS_TRUSTED_PROXIES: 'x' }, { ...env, PAAS_DOMAIN: 'bad domain' }]) {
      expect(() => loadRouterConfig(bad)).toThrow(RouterConfigError);
    }
  });

  it('never passes its own secrets to builds and dynos', () => {
    const c = loadConfig({ PAAS_API_TOKEN: 'secret', PATH: '/usr/bin', HOME: '/root' });
    expect(Object.values(c.baseEnv)).not.toContain('secret');
    expect(Object.keys(c.baseEnv).sort()).toEqual(['HOME', 'PATH']);
    // App processes get less still: no PATH or HOME of the host (the sandbox sets its own).
    expect(loadConfig({ PAAS_API_TOKEN: 'secret', PATH: '/usr/bin', HOME: '/root', TZ: 'UTC' }).appEnv).toEqual({ LANG: 'C.UTF-8', TZ: 'UTC', npm_config_update_notifier: 'false' });
  });

  it('reads the app uid range', () => {
    expect(loadConfig({}).appUids).toEqual({ first: 300000, last: 399999 });
    expect(loadConfig({ PAAS_APP_UIDS: '70000-70999' }).appUids).toEqual({ first: 70000, last: 70999 });
  });
});

describe('app output lines', () => {
  /** The lines eachLine() makes of `chunks`, once the stream has ended (its last line is out then). */
  async function lines(chunks: (string | Buffer)[], max?: number): Promise<string[]> {
    const out: string[] = [];
    const stream = new PassThrough();
    eachLine(stream, (l) => out.push(l), max);
    const ended = once(stream, 'end');
    for (const c of chunks) stream.write(c);
    stream.end();
    await ended;
    return out;
  }

  it('splits across chunks, drops a CR before LF and keeps a last line without one', async () => {
    expect(await lines(['one\r\ntw', 'o\n\nthr', 'ée'])).toEqual(['one', 'two', '', 'thrée']);
  });

  it('keeps a multi-byte character whole when a chunk ends inside it', async () => {
    const bytes = Buffer.from('naïve ✓\n');
    expect(await lines([bytes.subarray(0, 3), bytes.subarray(3, 9), bytes.subarray(9)])).toEqual(['naïve ✓']);
  });

  it('cuts a line at the limit, across chunks, and counts what it drops', async () => {
    expect(await lines(['abcdefgh', 'ijkl\nnext\n'], 5)).toEqual(['abcde [paas: line cut at 5 bytes, 7 more dropped]', 'next']);
  });
});

describe('a dyno output tail (quoted when its boot fails)', () => {
  it('quotes the last 20 lines in order, and says when there were none', () => {
    const tail = new OutputTail();
    expect(tail.quote()).toBe('It printed nothing.');
    tail.push('only');
    expect(tail.quote()).toBe('Its last line of output:\n  only');
    for (let i = 1; i <= 45; i++) tail.push(`line ${i}`);
    expect(tail.quote().split('\n')).toEqual(['Its last 20 lines of output:', ...Array.from({ length: 20 }, (_, i) => `  line ${26 + i}`)]);
  });
});

describe('app output on its way to a client', () => {
  it('drops lines while a slow reader has 1 MiB waiting, then says how many', () => {
    const written: string[] = [];
    const res = { writableLength: 0, write: (s: string) => (written.push(s), true) } as unknown as NodeJS.WritableStream & { writableLength: number };
    const write = boundedLines(res, 10);
    write('one');
    (res as { writableLength: number }).writableLength = 11;
    write('lost');
    write('lost too');
    (res as { writableLength: number }).writableLength = 0;
    write('two');
    expect(written).toEqual(['one\n', ' !     paas dropped 2 line(s) of output here: they came faster than this connection could take them.\n', 'two\n']);
  });

  it('keeps the first 256 KiB of a release for late readers, and says what it did not keep', () => {
    const outputs = new ReleaseOutputs();
    const log = outputs.open(1);
    for (let i = 0; i < 100; i++) log('x'.repeat(9_000));
    outputs.close(1);
    const seen: (string | null)[] = [];
    outputs.follow(1, (l) => seen.push(l));
    expect(seen.length).toBe(29 + 1 + 1);
    expect(seen.at(-2)).toBe(' !     paas kept the first 256 KiB of this output; 71 later line(s) were not kept.');
    expect(seen.at(-1)).toBeNull();
  });

  it('refuses a config value with a NUL character, which no environment can carry', () => {
    expect(() => parseConfigChange({ A: 'x\u0000B=y' })).toThrow(/NUL character/);
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

  it('gives each app its own uid from the range and never hands one out twice', () => {
    const db = openStore(path.join(tempDir(), 'paas.db'));
    const range = { first: 300000, last: 300002 };
    const one = insertApp(db, 'one', 'now', range);
    const two = insertApp(db, 'two', 'now', range);
    expect([one.uid, two.uid]).toEqual([300000, 300001]);
    deleteApp(db, two.id);
    expect(insertApp(db, 'three', 'now', range).uid).toBe(300002);
    expect(() => insertApp(db, 'four', 'now', range)).toThrow(/Every app uid from 300000 to 300002 has been used. Widen PAAS_APP_UIDS/);
    expect(findApp(db, 'four')).toBeUndefined();
    db.close();
  });

  it('gives apps made before migration 4 a uid at start-up', () => {
    const db = openStore(path.join(tempDir(), 'paas.db'));
    db.prepare("INSERT INTO apps (name, created_at) VALUES ('old', 'then')").run();
    const given = assignMissingUids(db, { first: 310000, last: 319999 });
    expect(findApp(db, 'old')?.uid).toBe(310000);
    // Those apps, and only once: the next start has nothing to hand over.
    expect(given.map((a) => [a.name, a.uid])).toEqual([['old', 310000]]);
    expect(assignMissingUids(db, { first: 310000, last: 319999 })).toEqual([]);
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
