import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { nodeApp } from './helpers/fixtures.js';
import { apiCall, gitRepo, push, startPaas, tempDir, viaRouter } from './helpers/paas.js';
import { webDynoAddress } from './helpers/store.js';
import { detectSandbox } from '../server/sandbox/host.js';

/** How long a restarted server may take to bring an app's dyno back up. */
const UP = { timeout: 10_000, interval: 100 };

// Every server started here is stopped when its test ends, pass or fail (startPaas registers that);
// the tests stop one themselves only where the stop is what they test.
describe('server lifecycle', () => {
  it('generates a token on first start, prints it once, and keeps it', async () => {
    const dataDir = tempDir();
    const first = await startPaas({ PAAS_DATA_DIR: dataDir, PAAS_API_TOKEN: '' });
    const token = fs.readFileSync(path.join(dataDir, 'api-token'), 'utf8').trim();
    expect(first.output()).toContain(`paas login --token ${token}`);
    expect(fs.statSync(path.join(dataDir, 'api-token')).mode & 0o777).toBe(0o600);
    await first.stop();
    const second = await startPaas({ PAAS_DATA_DIR: dataDir, PAAS_API_TOKEN: '' });
    expect(second.output()).not.toContain(token);
    expect((await apiCall({ ...second, token }, 'GET', '/v1/apps')).status).toBe(200);
  });

  it('drains on SIGTERM: stops its dynos and exits 0, and brings apps back on the next start', async () => {
    const dataDir = tempDir();
    const paas = await startPaas({ PAAS_DATA_DIR: dataDir });
    await apiCall(paas, 'POST', '/v1/apps', { name: 'survivor' });
    const dir = await gitRepo(paas, nodeApp('still here'));
    expect((await push(paas, dir, 'survivor')).code).toBe(0);
    const dyno = webDynoAddress(dataDir, 'survivor');
    expect((await fetch(`http://${dyno}/`)).status).toBe(200);
    expect(await paas.stop('SIGTERM')).toBe(0);
    // The dyno went with the server.
    await expect(fetch(`http://${dyno}/`)).rejects.toThrow();

    const again = await startPaas({ PAAS_DATA_DIR: dataDir, PAAS_API_TOKEN: paas.token });
    await expect.poll(async () => (await viaRouter(again, 'survivor.localhost')).body, UP).toContain('still here');
  });

  it('leaves no dyno of a SIGKILLed server running: sandboxed ones die with it, others are stopped at the next start', async () => {
    const dataDir = tempDir();
    const paas = await startPaas({ PAAS_DATA_DIR: dataDir });
    await apiCall(paas, 'POST', '/v1/apps', { name: 'orphaned' });
    const dir = await gitRepo(paas, nodeApp('orphan'));
    expect((await push(paas, dir, 'orphaned')).code).toBe(0);
    const dyno = webDynoAddress(dataDir, 'orphaned');
    expect((await fetch(`http://${dyno}/`)).status).toBe(200);
    await paas.stop('SIGKILL');
    if (detectSandbox().kind === 'bwrap') {
      // bwrap --die-with-parent: the kernel kills the sandbox when the server dies.
      await expect.poll(() => fetch(`http://${dyno}/`).then(() => 'answers', () => 'gone'), { timeout: 5000, interval: 100 }).toBe('gone');
    } else {
      // Killed outright, the server could not stop its dyno: it still answers on its own port.
      expect((await fetch(`http://${dyno}/`)).status).toBe(200);
    }

    const again = await startPaas({ PAAS_DATA_DIR: dataDir, PAAS_API_TOKEN: paas.token });
    if (detectSandbox().kind !== 'bwrap') expect(again.output()).toContain('Stopped 1 dyno(s) left running by a previous paas server');
    await expect(fetch(`http://${dyno}/`)).rejects.toThrow();
    await expect.poll(async () => (await viaRouter(again, 'orphaned.localhost')).status, UP).toBe(200);
    const res = await viaRouter(again, 'orphaned.localhost');
    expect(JSON.parse(res.body)).toMatchObject({ message: 'orphan' });
    expect(JSON.parse(res.body).port).not.toBe(Number(dyno.split(":").pop()));
  });

  it('refuses to start on a corrupt store and leaves it unchanged', async () => {
    const dataDir = tempDir();
    const db = path.join(dataDir, 'paas.db');
    fs.writeFileSync(db, 'this is not a sqlite database '.repeat(200));
    const before = fs.readFileSync(db);
    await expect(startPaas({ PAAS_DATA_DIR: dataDir })).rejects.toThrow(/is corrupt or not a paas store.*left it unchanged/s);
    expect(fs.readFileSync(db).equals(before)).toBe(true);
  });

  it('refuses to start on a store from a newer paas and leaves it unchanged', async () => {
    const dataDir = tempDir();
    const file = path.join(dataDir, 'paas.db');
    const db = new Database(file);
    db.pragma('user_version = 999');
    db.close();
    const before = fs.readFileSync(file);
    await expect(startPaas({ PAAS_DATA_DIR: dataDir })).rejects.toThrow(/schema version 999.*newer paas/s);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it('refuses a bad PORT with a clear message', async () => {
    await expect(startPaas({ PORT: 'eighty' })).rejects.toThrow(/PORT="eighty" is not a port number/);
  });
});
