import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { envApp } from './helpers/fixtures.js';
import { cli, commitFiles, createApp, gitRepo, type Paas, push, sh, startPaas, viaRouter } from './helpers/paas.js';

// `paas gc` against a real server: real pushes, real slug dirs, sizes checked with du(1).
let paas: Paas;
beforeAll(async () => {
  paas = await startPaas({ PAAS_KEEP_RELEASES: '2', PAAS_GC_INTERVAL: '0' });
});

async function served(app: string): Promise<string> {
  const res = await viaRouter(paas, `${app}.localhost`);
  expect(res.status, res.body).toBe(200);
  return (JSON.parse(res.body) as { message: string }).message;
}

async function json<T>(args: string[]): Promise<T> {
  const r = await cli(paas, [...args, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

/** Bytes in use under `dir` as du counts them (allocated blocks, hard links once). */
async function du(dir: string): Promise<number> {
  const r = await sh('du', ['-s', '-B1', dir]);
  expect(r.code, r.stderr).toBe(0);
  return Number(r.stdout.split('\t')[0]);
}

interface Report {
  dry_run: boolean;
  freed: Record<string, { bytes: number; items: number }>;
  total_bytes: number;
}

describe('paas gc', () => {
  it('frees the slugs of releases beyond PAAS_KEEP_RELEASES, as much as it reports, and every kept release still rolls back', async () => {
    await createApp(paas, 'gc-app');
    const dir = await gitRepo(paas, envApp('v1'));
    expect((await push(paas, dir, 'gc-app')).code).toBe(0);
    for (const n of [2, 3, 4]) {
      // A big file in each slug, so what gc frees is well above the noise of the store's own writes.
      await commitFiles(paas, dir, { ...envApp(`v${n}`), 'ballast.bin': `${n}`.repeat(2 * 1024 * 1024) });
      const r = await push(paas, dir, 'gc-app');
      expect(r.code, r.stderr).toBe(0);
    }
    const slugs = path.join(paas.dataDir, 'slugs');
    expect(fs.readdirSync(slugs)).toHaveLength(4);
    // v3's dyno stands by for the settle window after the last push. Where it runs on a copy of its
    // slug (not as root: no overlay), that copy, ballast and all, goes when it stops: wait for that,
    // or the data dir shrinks by 2 MiB more than gc frees while it is measured.
    await vi.waitFor(async () => expect((await json<{ state: string }[]>(['ps', '-a', 'gc-app'])).map((d) => d.state)).toEqual(['up']), { timeout: 30_000, interval: 200 });

    const dry = await json<Report>(['gc', '--dry-run']);
    expect(dry.dry_run).toBe(true);
    expect(dry.freed.slugs.items).toBe(2);
    expect(fs.readdirSync(slugs)).toHaveLength(4);

    const [slugsBefore, totalBefore] = [await du(slugs), await du(paas.dataDir)];
    const report = await json<Report>(['gc']);
    const [slugsAfter, totalAfter] = [await du(slugs), await du(paas.dataDir)];
    expect(report.freed.slugs.items).toBe(2);
    expect(report.freed.slugs.bytes).toBe(dry.freed.slugs.bytes);
    // v2's ballast (2 MiB) went with its slug: gc frees what it says, to the block.
    expect(report.freed.slugs.bytes).toBeGreaterThan(2 * 1024 * 1024);
    expect(slugsBefore - slugsAfter).toBe(report.freed.slugs.bytes);
    // The whole data dir shrank by the total, give or take what the store and logs wrote meanwhile.
    expect(Math.abs(totalBefore - totalAfter - report.total_bytes)).toBeLessThan(256 * 1024);
    expect(fs.readdirSync(slugs)).toHaveLength(2);

    // Nothing in use lost: the current release serves, and each kept release rolls back.
    expect(await served('gc-app')).toBe('v4');
    for (const [version, message] of [['v3', 'v3'], ['v4', 'v4']]) {
      const back = await cli(paas, ['releases:rollback', version, '-a', 'gc-app']);
      expect(back.code, back.stderr).toBe(0);
      expect(await served('gc-app')).toBe(message);
    }
    // A collected one is refused in words, and nothing changes.
    const releases = await json<unknown[]>(['releases', '-a', 'gc-app']);
    const gone = await cli(paas, ['releases:rollback', 'v2', '-a', 'gc-app']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("v2's slug was removed by `paas gc`");
    expect(await json<unknown[]>(['releases', '-a', 'gc-app'])).toEqual(releases);
    expect(await served('gc-app')).toBe('v4');
    // A second run finds nothing more to collect.
    expect((await json<Report>(['gc'])).freed.slugs.items).toBe(0);
  });

  it('shows the data dir, its free space and its use per part in `paas status`', async () => {
    const status = await json<{ data_dir: string; runtime: string; version: string; disk: { free_bytes: number; total_bytes: number }; used: Record<string, number> }>(['status']);
    expect(status).toMatchObject({ data_dir: paas.dataDir, runtime: 'process', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(status.disk.free_bytes).toBeGreaterThan(0);
    expect(status.disk.free_bytes).toBeLessThanOrEqual(status.disk.total_bytes);
    expect(Object.keys(status.used)).toEqual(expect.arrayContaining(['slugs', 'node', 'tools', 'repos', 'logs', 'backups', 'outputs']));
    expect(status.used.repos).toBeGreaterThan(0);
    const text = await cli(paas, ['status']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`Data dir:`);
    expect(text.stdout).toContain(paas.dataDir);
  });
});
