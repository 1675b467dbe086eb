import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { onCleanup } from './helpers/cleanup.js';
import { hostCanRun, root } from './helpers/host.js';
import { envApp } from './helpers/fixtures.js';
import { apiCall, cli, commitFiles, createApp, gitRepo, type Paas, push, sh, startPaas, tempDir, viaRouter } from './helpers/paas.js';
import { descendants } from './helpers/procs.js';
import { within } from './helpers/within.js';

// A real full disk: a 160 MiB tmpfs as the data dir, filled during a build and before a push and a
// config:set. Mounting needs root; elsewhere the suite is skipped, saying why.
const canMount = hostCanRun('a full data dir', root('a tmpfs mounted as the data dir'));

// Each step has a bound of its own, so a step that hangs (this file once timed out in a full CI run,
// with nothing saying where) fails naming it, with the server's last output and what still runs.
const PUSH_MS = 60_000;
const STEP_MS = 30_000;
/** The settle window: long enough to fill the disk in while the old web dyno stands by. */
const SETTLE_MS = 1500;

/** Bytes free on the file system holding `dir`. */
function free(dir: string): number {
  const s = fs.statfsSync(dir);
  return Number(s.bavail) * Number(s.bsize);
}

/** Fills the file system holding `dir` until about `leave` bytes are free; returns the filler to remove. */
function fill(dir: string, leave: number): string {
  const file = path.join(dir, 'filler.bin');
  const fd = fs.openSync(file, 'a');
  const chunk = Buffer.alloc(1024 * 1024, 1);
  try {
    while (free(dir) - chunk.length > leave) fs.writeSync(fd, chunk);
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

/** Fills what `fill` leaves, a page at a time, until the file system says ENOSPC; returns the filler. */
function fillUp(dir: string): string {
  const file = fill(dir, 0);
  const fd = fs.openSync(file, 'a');
  try {
    for (;;) fs.writeSync(fd, Buffer.alloc(4096, 1));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

/** Waits, up to `ms`, until `done()` holds; says whether it did. */
async function until(ms: number, done: () => boolean): Promise<boolean> {
  for (const end = Date.now() + ms; !done(); await new Promise((r) => setTimeout(r, 100))) if (Date.now() > end) return false;
  return true;
}

/** The pids of the app processes (`node server.js`) the server runs now. */
function appPids(paas: Paas): number[] {
  return descendants(paas.proc.pid).filter((p) => p.cmdline === 'node server.js').map((p) => p.pid);
}

describe.runIf(canMount)('a full data dir', () => {
  let paas: Paas;
  let data: string;
  let dir: string;

  beforeAll(async () => {
    data = tempDir('paas-tmpfs-');
    const mounted = await sh('mount', ['-t', 'tmpfs', '-o', 'size=160m,mode=0755', 'paas-disk-full', data]);
    expect(mounted.code, mounted.stderr).toBe(0);
    onCleanup(async () => void (await sh('umount', ['-l', data])));
    paas = await within(STEP_MS, 'the server start', startPaas({ PAAS_DATA_DIR: data, PAAS_MIN_FREE_DISK: '24m', PAAS_GC_INTERVAL: '0', PAAS_SETTLE_MS: String(SETTLE_MS) }));
    await within(STEP_MS, 'apps:create', createApp(paas, 'full'), paas);
    dir = await gitRepo(paas, envApp('v1'));
    const first = await within(PUSH_MS, 'the first push', push(paas, dir, 'full'), paas);
    expect(first.code, first.stderr).toBe(0);
  }, 120_000);

  /** The cli's answer to `args`, bounded (STEP_MS) and named by them should it hang. */
  const paasCli = (args: string[]) => within(STEP_MS, `paas ${args.join(' ')}`, cli(paas, args), paas);

  async function unchanged(releases: string): Promise<void> {
    const res = await within(STEP_MS, 'a request through the router', viaRouter(paas, 'full.localhost'), paas);
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ message: 'v1', env: { GREETING: 'hi' } });
    expect((await paasCli(['releases', '-a', 'full', '--json'])).stdout).toBe(releases);
    expect(JSON.parse((await paasCli(['config', '-a', 'full', '--json'])).stdout)).toEqual({ GREETING: 'hi' });
  }

  it('rejects a push whose build fills the disk, naming the data dir, and keeps the release before it', async () => {
    expect((await paasCli(['config:set', 'GREETING=hi', '-a', 'full'])).code).toBe(0);
    const releases = (await paasCli(['releases', '-a', 'full', '--json'])).stdout;
    // The build writes until the file system says ENOSPC (the tmpfs is 160 MiB; it asks for more).
    const app = envApp('v2');
    app['package.json'] = JSON.stringify({
      name: 'env-app',
      version: '1.0.0',
      scripts: { build: `node -e "const fs=require('fs');const fd=fs.openSync('big','w');for(let i=0;i<400;i++)fs.writeSync(fd,Buffer.alloc(1<<20,1))"` },
    });
    await within(STEP_MS, 'git commit', commitFiles(paas, dir, app));
    const r = await within(PUSH_MS, 'the push whose build fills the disk', push(paas, dir, 'full'), paas);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`The data dir ${data} is full \\([0-9.]+ [KMG]?i?B free\\): this push was not applied`));
    expect(r.stderr).toContain('paas gc');
    expect(r.stderr).not.toContain('unpacker error');
    // The failed build left nothing behind: its slug went, and the space with it.
    expect(fs.readdirSync(path.join(data, 'slugs'))).toHaveLength(1);
    expect(free(data)).toBeGreaterThan(24 * 1024 ** 2);
    await unchanged(releases);
  }, 150_000);

  it('refuses a push and a config:set up front while the disk is full (507 on the API), and changes nothing', async () => {
    const releases = (await paasCli(['releases', '-a', 'full', '--json'])).stdout;
    const filler = fill(data, 4 * 1024 ** 2);
    try {
      await within(STEP_MS, 'git commit', commitFiles(paas, dir, envApp('v3')));
      const r = await within(PUSH_MS, 'the push to a full disk', push(paas, dir, 'full'), paas);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(new RegExp(`remote error: The data dir ${data} is full \\([0-9.]+ MiB free\\): this push was not applied`));
      expect(r.stderr).not.toContain('unpacker error');

      const set = await paasCli(['config:set', 'GREETING=changed', '-a', 'full']);
      expect(set.code).toBe(1);
      expect(set.stderr).toMatch(new RegExp(`The data dir ${data} is full \\([0-9.]+ MiB free\\): nothing was changed and no release was made`));
      const api = await within(STEP_MS, 'PATCH /v1/apps/full/config', apiCall(paas, 'PATCH', '/v1/apps/full/config', { GREETING: 'changed' }), paas);
      expect(api.status).toBe(507);
      expect(api.json).toMatchObject({ id: 'insufficient_storage', message: expect.stringContaining(`The data dir ${data} is full`) });
      await unchanged(releases);
    } finally {
      fs.rmSync(filler);
    }
    // With the space back, the same push goes through.
    const again = await within(PUSH_MS, 'the push once the space is back', push(paas, dir, 'full'), paas);
    expect(again.code, again.stderr).toBe(0);
  }, 150_000);

  it('stops the old web dyno at the end of its settle window while the disk is full', async () => {
    // The last push's old web.1 is gone once its own settle window is over.
    expect(await until(SETTLE_MS + 10_000, () => appPids(paas).length === 1)).toBe(true);
    const before = appPids(paas);
    expect((await paasCli(['config:set', 'GREETING=settled', '-a', 'full'])).code).toBe(0);
    // The old web.1 stands by for SETTLE_MS; its stop finds the store's writes failing (SQLITE_FULL).
    const filler = fillUp(data);
    try {
      expect(await until(SETTLE_MS + 10_000, () => !appPids(paas).includes(before[0])), paas.output().slice(-3000)).toBe(true);
    } finally {
      fs.rmSync(filler);
    }
    expect(appPids(paas)).toHaveLength(1);
  });
});
