// A push's web.1 is prestarted while its slug builds (issue 23), through the real server, git push
// and router: the deploy starts from it, and a failed build or a shutdown leaves nothing of it.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectSandbox } from '../server/sandbox/host.js';
import { nodeApp } from './helpers/fixtures.js';
import { commitFiles, createApp, gitRepo, type Paas, push, pushInBackground, startPaas, viaRouter } from './helpers/paas.js';

const host = detectSandbox();

/** The app with a build step of `ms` that exits with `code`. */
function buildsFor(ms: number, message: string, code = 0): Record<string, string> {
  const app = nodeApp(message);
  const pkg = JSON.parse(app['package.json']) as { scripts: Record<string, string> };
  pkg.scripts.build = `node -e "setTimeout(() => process.exit(${code}), ${ms})"`;
  return { ...app, 'package.json': JSON.stringify(pkg) };
}

/** The processes whose command line names `text` (the scratch dir of a prestarted dyno names its id). */
function processesNaming(text: string): number[] {
  return fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(text);
    } catch {
      return false;
    }
  }).map(Number);
}

describe.runIf(host.asRoot && host.kind === 'bwrap' && host.overlay)('a prestarted web dyno (process runtime, root)', () => {
  let paas: Paas;
  let dir: string;
  const scratch = () => fs.readdirSync(path.join(paas.dataDir, 'dynos'));
  /** Waits until the build is under way with a prestarted dyno beside the running one, and returns its id. */
  const prestartedDuringBuild = async (running: string[]) => {
    await expect.poll(() => scratch().filter((d) => !running.includes(d)).length, { timeout: 20_000, interval: 20 }).toBe(1);
    const [id] = scratch().filter((d) => !running.includes(d));
    // Its directory is made just before its process starts; on a loaded machine (CI: Docker suites beside it) that start can take seconds.
    await expect.poll(() => processesNaming(id).length, { timeout: 20_000, interval: 10 }).toBeGreaterThan(0);
    return id;
  };

  beforeAll(async () => {
    paas = await startPaas();
    await createApp(paas, 'warm');
    dir = await gitRepo(paas, nodeApp('one'));
    const r = await push(paas, dir, 'warm');
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(() => paas?.stop());

  it('is the new web.1 of a push whose build succeeds', async () => {
    const running = scratch();
    expect(running).toHaveLength(1);
    await commitFiles(paas, dir, buildsFor(1500, 'two'));
    const pushed = pushInBackground(paas, dir, 'warm');
    const id = await prestartedDuringBuild(running);
    expect((await pushed.done).code, pushed.output()).toBe(0);
    expect(JSON.parse((await viaRouter(paas, 'warm.localhost')).body).message).toBe('two');
    // The old dyno drains away; the one left is the prestarted one, now serving.
    await expect.poll(() => scratch(), { timeout: 20_000 }).toEqual([id]);
  });

  it('leaves nothing behind when the build fails', async () => {
    const running = scratch();
    await commitFiles(paas, dir, buildsFor(1500, 'three', 3));
    const pushed = pushInBackground(paas, dir, 'warm');
    const id = await prestartedDuringBuild(running);
    expect((await pushed.done).code).not.toBe(0);
    expect(scratch()).toEqual(running);
    expect(processesNaming(id)).toEqual([]);
    const groups = fs.readdirSync('/sys/fs/cgroup', { recursive: true, encoding: 'utf8' }).filter((p) => p.endsWith(`dyno-${id}`));
    expect(groups).toEqual([]);
    expect(JSON.parse((await viaRouter(paas, 'warm.localhost')).body).message).toBe('two');
  });

  it('leaves nothing behind when the server shuts down during the build', async () => {
    const running = scratch();
    await commitFiles(paas, dir, buildsFor(4000, 'four'));
    const pushed = pushInBackground(paas, dir, 'warm');
    const id = await prestartedDuringBuild(running);
    await paas.stop('SIGTERM');
    await pushed.done;
    expect(processesNaming(id)).toEqual([]);
    expect(fs.existsSync(path.join(paas.dataDir, 'dynos', id))).toBe(false);
  });
});
