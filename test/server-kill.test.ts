// kill -9 of the server in the middle of a deploy: during a slow build step, and during a release
// phase that sleeps. The next server on the same data dir must start consistent: the interrupted
// build and release marked failed, the previous release current and serving, no process of the
// old server left (checked in /proc), and the app deployable again.
import fs from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { nodeApp, slowBuildApp } from './helpers/fixtures.js';
import { cli, commitFiles, createApp, gitRepo, type Paas, push, pushInBackground, startPaas, tempDir, viaRouter } from './helpers/paas.js';
import { descendants, describeProcesses, killAll, liveProcesses, type ProcessInfo, processesUsing } from './helpers/procs.js';
import { onCleanup } from './helpers/cleanup.js';
import { dynoRows, statuses } from './helpers/store.js';
import { detectSandbox } from '../server/sandbox/host.js';

/** How long a restarted server may take to bring an app's dyno back up. */
const UP = { timeout: 15_000, interval: 100 };

function environ(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  } catch {
    return []; // gone
  }
}

/**
 * What the killed server may have left: processes of the app (its PAAS_APP_NAME, which every dyno
 * and release phase has), ones whose command line has `tag` (a build step), and ones that name the
 * data dir (the sandboxes' scratch dirs, git, the hook). The new server and what it started are
 * not leftovers.
 */
function leftovers(paas: Paas, app: string, tag?: string): ProcessInfo[] {
  const current = new Set([paas.proc.pid, ...descendants(paas.proc.pid).map((p) => p.pid)]);
  const found = new Map<number, ProcessInfo>();
  for (const p of liveProcesses()) if ((tag && p.cmdline.includes(tag)) || environ(p.pid).includes(`PAAS_APP_NAME=${app}`)) found.set(p.pid, p);
  for (const p of processesUsing(paas.dataDir)) found.set(p.pid, p);
  return [...found.values()].filter((p) => !current.has(p.pid));
}

/** Starts a server on a data dir of its own with `app` deployed (v1, answering "first"), and its git checkout. */
async function deployed(app: string): Promise<{ paas: Paas; dir: string }> {
  const paas = await startPaas({ PAAS_DATA_DIR: tempDir('paas-data-') });
  await createApp(paas, app);
  const dir = await gitRepo(paas, nodeApp('first'));
  expect((await push(paas, dir, app)).code).toBe(0);
  return { paas, dir };
}

/**
 * SIGKILLs `paas`, starts a new server on its data dir, and checks the start is consistent: v1 is
 * current and serves, nothing of the old server runs, and the app takes a new push.
 */
async function killAndRestart(paas: Paas, dir: string, app: string, tag?: string): Promise<Paas> {
  await paas.stop('SIGKILL');
  const again = await startPaas({ PAAS_DATA_DIR: paas.dataDir, PAAS_API_TOKEN: paas.token });
  // Whatever the test leaves is killed at its end, so one failure does not leak into the next test.
  onCleanup(() => killAll(leftovers(again, app, tag)));
  await expect.poll(async () => (await viaRouter(again, `${app}.localhost`)).body, UP).toContain('first');
  const releases = JSON.parse((await cli(again, ['releases', '-a', app, '--json'])).stdout) as { version: number; status: string; current: boolean }[];
  expect(releases.find((r) => r.current)).toMatchObject({ version: 1, status: 'succeeded' });
  // Sandboxed processes die with the server (bwrap --die-with-parent); others are stopped at the next
  // start. Git's processes for the push end once their connection is gone: give them a moment.
  await vi.waitFor(
    () => {
      const left = leftovers(again, app, tag);
      if (left.length) throw new Error(`left running by the killed server:\n${describeProcesses(left)}`);
    },
    { timeout: 10_000, interval: 200 },
  );
  expect(dynoRows(again.dataDir)).toEqual(['web.1 up']);
  // Nothing is stuck: no lock, no pending release in the way of the next push.
  await commitFiles(again, dir, { ...nodeApp('second'), Procfile: 'web: node server.js\n' });
  expect((await push(again, dir, app)).code).toBe(0);
  expect((await viaRouter(again, `${app}.localhost`)).body).toContain('second');
  return again;
}

describe('kill -9 of the server mid-deploy', () => {
  it('during a slow build step: the build is marked failed, v1 serves, and no build step is left', async () => {
    const app = 'killed-mid-build';
    const tag = `build-step-of-${app}`;
    const { paas, dir } = await deployed(app);
    await commitFiles(paas, dir, slowBuildApp(600_000, tag));
    const pushing = pushInBackground(paas, dir, app);
    await vi.waitFor(() => expect(pushing.output()).toContain('build started'), { timeout: 60_000, interval: 100 });
    // The build step runs, and the store has the build pending.
    expect(liveProcesses().filter((p) => p.cmdline.includes(tag)).length).toBeGreaterThan(0);
    expect(statuses(paas.dataDir)).toEqual({ builds: ['succeeded', 'pending'], releases: ['succeeded'] });
    // A build's output reaches its file in batches every 100 ms: what a kill -9 can cost is the last
    // batch, so the kill comes after one has gone out.
    await new Promise((r) => setTimeout(r, 300));

    const again = await killAndRestart(paas, dir, app, tag);
    expect((await pushing.done).code).not.toBe(0);
    expect(again.output()).toContain('Marked 1 build(s) and 0 release(s) failed that a previous paas server left unfinished');
    expect(statuses(again.dataDir)).toEqual({ builds: ['succeeded', 'failed', 'succeeded'], releases: ['succeeded', 'succeeded'] });
    // The interrupted build keeps what it printed before the kill.
    const builds = JSON.parse((await cli(again, ['builds', '--json', '-a', app])).stdout) as { id: string; status: string; duration: number | null }[];
    const killed = builds.find((b) => b.status === 'failed')!;
    expect(killed.duration).toBeNull();
    const output = await cli(again, ['builds:output', killed.id, '-a', app]);
    expect(output.code, output.stderr).toBe(0);
    expect(output.stdout).toContain('build started');
  });

  it('during the release phase: the release is marked failed, its one-off dyno is gone from the store and /proc, and v1 serves', async () => {
    const app = 'killed-mid-release';
    const { paas, dir } = await deployed(app);
    await commitFiles(paas, dir, { Procfile: 'release: echo migrating && exec sleep 600\nweb: node server.js\n' });
    const pushing = pushInBackground(paas, dir, app);
    await vi.waitFor(() => expect(pushing.output()).toMatch(/^remote: +migrating/m), { timeout: 60_000, interval: 100 });
    // The one-off dyno runs, recorded in the store like a web dyno, so a restarted server can find it.
    const releasePhase = () => liveProcesses().filter((p) => environ(p.pid).includes(`PAAS_APP_NAME=${app}`) && environ(p.pid).includes('DYNO=release.1'));
    expect(releasePhase().length).toBeGreaterThan(0);
    expect(dynoRows(paas.dataDir)).toEqual(['release.1 up', 'web.1 up']);
    expect(statuses(paas.dataDir)).toEqual({ builds: ['succeeded', 'succeeded'], releases: ['succeeded', 'pending'] });

    const again = await killAndRestart(paas, dir, app);
    expect((await pushing.done).code).not.toBe(0);
    expect(releasePhase()).toEqual([]);
    expect(again.output()).toContain('Marked 0 build(s) and 1 release(s) failed that a previous paas server left unfinished');
    // Without bubblewrap nothing killed them with the server: the new one stopped both from their rows.
    if (detectSandbox().kind !== 'bwrap') expect(again.output()).toContain('Stopped 2 dyno(s) left running by a previous paas server');
    // v2 failed; v3 is the push after the restart.
    expect(statuses(again.dataDir)).toEqual({ builds: ['succeeded', 'succeeded', 'succeeded'], releases: ['succeeded', 'failed', 'succeeded'] });
  });
});
