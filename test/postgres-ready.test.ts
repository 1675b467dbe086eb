// When is a restarted PostgreSQL add-on ready: its postmaster.pid says `ready`, but after a crash
// the file is the dead postmaster's until the new one replaces it. CI failed a password renewal
// that ran on the stale `ready` (psql found nothing listening yet), and never renewed it.
// No PostgreSQL here: the files are written as a postmaster writes them.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stalePidFile, waitPostgres } from '../server/addons/process/postgres.js';
import type { AddonBox } from '../server/addons/process/sandbox.js';
import { tempDir } from './helpers/paas.js';

const pidFileText = (status: string) => `4242\n/addon/data\n${Math.floor(Date.now() / 1000)}\n5432\n/addon/run\n127.0.0.1\n  1234  5678\n${status}\n`;

describe('waitPostgres', () => {
  it("does not take a crashed postmaster's `ready` for the new one's, and takes the new one's", async () => {
    const dir = tempDir('paas-pgready-');
    fs.mkdirSync(path.join(dir, 'data'));
    const file = path.join(dir, 'data', 'postmaster.pid');
    fs.writeFileSync(file, pidFileText('ready'));
    const box = { dir } as AddonBox;
    const stale = stalePidFile(box);
    expect(stale).toBeDefined();
    await expect(waitPostgres(box, 5432, () => false, Date.now() + 200, stale)).rejects.toThrow(/did not accept connections/);

    // The new postmaster replaces the file (a new one, as PostgreSQL does), starting, then ready.
    const waiting = waitPostgres(box, 5432, () => false, Date.now() + 5000, stale);
    await new Promise((r) => setTimeout(r, 50));
    fs.rmSync(file);
    fs.writeFileSync(file, pidFileText('starting'));
    await new Promise((r) => setTimeout(r, 50));
    fs.writeFileSync(file, pidFileText('ready'));
    await expect(waiting).resolves.toBeUndefined();
  });

  it('takes a first start, with no file before it, as ready once the file says so', async () => {
    const dir = tempDir('paas-pgready-');
    fs.mkdirSync(path.join(dir, 'data'));
    const box = { dir } as AddonBox;
    expect(stalePidFile(box)).toBeUndefined();
    fs.writeFileSync(path.join(dir, 'data', 'postmaster.pid'), pidFileText('ready'));
    await expect(waitPostgres(box, 5432, () => false, Date.now() + 1000, undefined)).resolves.toBeUndefined();
  });
});
