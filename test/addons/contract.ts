// The contract every AddonServices implementation keeps (issue 14), with real servers: each
// runtime's test file calls addonContract() with a factory for its own implementation.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { redisCommands } from '../../server/addons/process/resp.js';
import type { AddonInstance, AddonServices, AddonState } from '../../server/addons/types.js';
import { onCleanup, removeTree } from '../helpers/cleanup.js';

const run = promisify(execFile);

export interface ContractSubject {
  services: AddonServices;
  /** Every line given to events.log, as `name: line`. */
  logs: string[];
  states: { name: string; state: AddonState }[];
  /** A uid for a new add-on (from 390001 up, clear of apps). */
  nextUid(): number;
  /** Kills the add-on's server from outside with SIGKILL, as a crash or the OOM killer would. */
  kill(instance: AddonInstance): Promise<void>;
  /** Where backups may be written. */
  backupDir: string;
}

/** The connection settings in an add-on's URL, for psql through its environment (never argv). */
function pgEnv(url: string): NodeJS.ProcessEnv {
  const u = new URL(url);
  return {
    PATH: process.env.PATH,
    PGHOST: u.hostname,
    PGPORT: u.port,
    PGUSER: decodeURIComponent(u.username),
    PGPASSWORD: decodeURIComponent(u.password),
    PGDATABASE: u.pathname.slice(1),
    PGCONNECT_TIMEOUT: '5',
  };
}

/** Runs SQL through the add-on's URL as an app would; the output of the last statement, trimmed. */
export async function sql(services: AddonServices, instance: AddonInstance, text: string): Promise<string> {
  const { stdout } = await run('psql', ['-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', '-c', text], { env: pgEnv(services.url(instance)) });
  return stdout.trim();
}

/** Sends Redis commands through the add-on's URL (AUTH first); the replies after AUTH. */
export async function redis(services: AddonServices, instance: AddonInstance, ...commands: string[][]): Promise<unknown[]> {
  const u = new URL(services.url(instance));
  const replies = await redisCommands(Number(u.port), [['AUTH', decodeURIComponent(u.password)], ...commands], 5000, u.hostname);
  expect(replies[0]).toBe('OK');
  return replies.slice(1);
}

/** Retries `fn` until it does not throw (a server coming back after a crash). */
export async function eventually<T>(fn: () => Promise<T>, timeout = 30_000): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The contract, against real PostgreSQL and Redis servers made by `make` (once for the file). */
export function addonContract(label: string, make: () => Promise<ContractSubject>): void {
  describe(`add-ons contract: ${label}`, () => {
    let s: ContractSubject;
    let pg: AddonInstance;
    let rd: AddonInstance;

    beforeAll(async () => {
      s = await make();
      onCleanup(() => s.services.stopAll());
      const [a, b] = await Promise.all([
        s.services.provision({ name: 'pg-contract', service: 'postgresql', uid: s.nextUid() }),
        s.services.provision({ name: 'redis-contract', service: 'redis', uid: s.nextUid() }),
      ]);
      pg = a;
      rd = b;
    });

    afterAll(() => {
      // Nothing of either password in any line the servers or paas logged.
      const all = s.logs.join('\n');
      expect(all).not.toContain(pg.password);
      expect(all).not.toContain(rd.password);
    });

    it('provisions PostgreSQL with a role and database of its own, reachable through its URL', async () => {
      expect(pg.service).toBe('postgresql');
      expect(pg.version).toMatch(/^\d+\.\d+/);
      expect(pg.password.length).toBeGreaterThanOrEqual(32);
      expect(s.services.url(pg)).toMatch(/^postgres:\/\/[^:]+:[^@]+@[^:]+:\d+\/\w+$/);
      await sql(s.services, pg, 'CREATE TABLE items (id serial PRIMARY KEY, name text)');
      await sql(s.services, pg, "INSERT INTO items (name) VALUES ('a'), ('b')");
      expect(await sql(s.services, pg, 'SELECT count(*) FROM items')).toBe('2');
      // The app's role is not a superuser.
      expect(await sql(s.services, pg, 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user')).toBe('f');
      expect(s.states).toContainEqual({ name: pg.name, state: 'running' });
    });

    it('provisions Redis with a password, reachable through its URL', async () => {
      expect(s.services.url(rd)).toMatch(/^redis:\/\/default:[^@]+@[^:]+:\d+$/);
      expect(await redis(s.services, rd, ['SET', 'counter', '41'], ['INCR', 'counter'])).toEqual(['OK', 42]);
      // Without the password it refuses.
      const u = new URL(s.services.url(rd));
      const [reply] = await redisCommands(Number(u.port), [['GET', 'counter']], 5000, u.hostname);
      expect(String(reply)).toMatch(/NOAUTH/);
    });

    it('keeps the data across a stop and a start', async () => {
      await Promise.all([s.services.stop(pg.name), s.services.stop(rd.name)]);
      expect(s.states).toContainEqual({ name: pg.name, state: 'stopped' });
      await Promise.all([s.services.start(pg), s.services.start(rd)]);
      expect(await sql(s.services, pg, 'SELECT count(*) FROM items')).toBe('2');
      expect(await redis(s.services, rd, ['GET', 'counter'])).toEqual(['42']);
    });

    it('restarts a server killed from outside', async () => {
      const before = s.states.length;
      await s.kill(pg);
      await s.kill(rd);
      await vi.waitFor(() => expect(s.states.slice(before)).toContainEqual({ name: pg.name, state: 'crashed' }), { timeout: 10_000 });
      expect(await eventually(() => sql(s.services, pg, 'SELECT count(*) FROM items'))).toBe('2');
      // appendfsync everysec: a write acknowledged over a second ago survives the SIGKILL.
      expect(await eventually(() => redis(s.services, rd, ['GET', 'counter']))).toEqual(['42']);
      await vi.waitFor(() => expect(s.states.slice(before)).toContainEqual({ name: rd.name, state: 'running' }), { timeout: 10_000 });
    });

    it('captures a backup and restores it: the rows are back to the backup', async () => {
      const file = path.join(s.backupDir, 'b001.dump');
      await s.services.capture(pg, file);
      expect(fs.statSync(file).size).toBeGreaterThan(0);
      expect(fs.readdirSync(s.backupDir)).toEqual(['b001.dump']);
      await sql(s.services, pg, "INSERT INTO items (name) VALUES ('c'), ('d'), ('e')");
      expect(await sql(s.services, pg, 'SELECT count(*) FROM items')).toBe('5');
      await s.services.restore(pg, file);
      expect(await sql(s.services, pg, 'SELECT count(*) FROM items')).toBe('2');
      // The sequence came back too: the next row does not collide.
      await sql(s.services, pg, "INSERT INTO items (name) VALUES ('f')");
      expect(await sql(s.services, pg, 'SELECT count(*) FROM items')).toBe('3');
    });

    it('says what went wrong with a missing backup or a Redis backup, without the password', async () => {
      const missing = s.services.restore(pg, path.join(s.backupDir, 'nope.dump'));
      await expect(missing).rejects.toThrow(/backup/i);
      await expect(s.services.capture(rd, path.join(s.backupDir, 'x.dump'))).rejects.toThrow(/PostgreSQL/);
      const err = await s.services.restore(pg, path.join(s.backupDir, 'nope.dump')).catch((e: Error) => e);
      expect(String((err as Error).message)).not.toContain(pg.password);
    });

    it('destroys an add-on: stopped and its data gone', async () => {
      const tmp = await s.services.provision({ name: 'redis-doomed', service: 'redis', uid: s.nextUid() });
      expect(await redis(s.services, tmp, ['PING'])).toEqual(['PONG']);
      await s.services.destroy(tmp);
      await expect(redis(s.services, tmp, ['PING'])).rejects.toThrow();
      // Provisioning the name again starts from nothing.
      const again = await s.services.provision({ name: 'redis-doomed', service: 'redis', uid: tmp.uid });
      expect(await redis(s.services, again, ['GET', 'counter'])).toEqual([null]);
      await s.services.destroy(again);
    });
  });
}

/** A temp dir removed when the file ends. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  onCleanup(() => removeTree(dir));
  return dir;
}
