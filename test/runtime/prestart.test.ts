// The process runtime's prestart (issue 23): a web dyno's sandbox, cgroup and mount namespace made
// while its slug builds, then taken by start(), or cancelled with nothing left behind. Real
// bubblewrap, real cgroups, real processes (as root, where the sandbox is an overlay).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../lib/dyno-limits.js';
import { ProcessRuntime } from '../../server/runtime/process/runtime.js';
import type { DynoSpec, PrestartSpec } from '../../server/runtime/types.js';
import { waitUntilUp } from '../../server/runtime/wait-port.js';
import { type Cgroups, setUpLimits } from '../../server/sandbox/cgroups.js';
import { detectSandbox } from '../../server/sandbox/host.js';
import { tempDir } from '../helpers/paas.js';

const host = detectSandbox();
const USER = { uid: 300_131, gid: 300_131 };
const LIMITS = { ...DEFAULT_LIMITS.dyno, memoryBytes: 256 * 1024 ** 2, diskBytes: 64 * 1024 ** 2 };
const SERVER = "require('http').createServer((q, s) => s.end(process.env.GREETING + ' ' + process.cwd() + ' ' + process.getuid())).listen(process.env.PORT);";

/** Whether any process is left in the process group `pgid`. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.runIf(host.asRoot && host.kind === 'bwrap' && host.overlay)('a prestarted dyno (process runtime, root, bubblewrap)', () => {
  let cgroups: Cgroups | undefined;
  let runtime: ProcessRuntime;
  let scratchRoot: string;
  let slugDir: string;

  beforeAll(async () => {
    cgroups = (await setUpLimits(`t${randomBytes(3).toString('hex')}`, host, true)).cgroups;
    scratchRoot = tempDir('paas-scratch-');
    slugDir = tempDir('paas-slug-');
    fs.writeFileSync(path.join(slugDir, 'server.js'), SERVER);
    fs.chownSync(slugDir, USER.uid, USER.gid);
    fs.chmodSync(slugDir, 0o700);
    runtime = new ProcessRuntime({ sandbox: host, scratchRoot, cgroups });
  });
  afterAll(() => cgroups?.close());

  const pre: PrestartSpec = { app: 'warm', name: 'web.1', user: USER, limits: LIMITS, profile: true };
  const spec = (over: Partial<DynoSpec> = {}): DynoSpec => ({
    app: 'warm', name: 'web.1', slugDir, command: 'node server.js', profile: true, pathPrepend: [], user: USER, limits: LIMITS,
    env: { GREETING: 'hi' }, onLine: () => undefined, ...over,
  });
  /** The cgroup.procs of the dyno `id`'s memory group, or undefined once it is gone. */
  const procs = (id: string) => {
    const file = path.join(cgroups!.layout.dirs.memory, `dyno-${id}`, 'cgroup.procs');
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number) : undefined;
  };
  const only = <T>(set: ReadonlySet<T>): T => {
    expect(set.size).toBe(1);
    return [...set][0];
  };

  it('waits in its cgroup, then runs the app from there once started', async () => {
    const warm = await runtime.prestart(pre);
    expect(warm).toBeDefined();
    const id = only(runtime.scratchInUse());
    // The root sh waits in the dyno's cgroup (the join is its own first step): no app code yet.
    await expect.poll(() => procs(id)?.length ?? 0, { timeout: 5000 }).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(scratchRoot, id, 'lower'))).toBe(false);
    const dyno = await runtime.start(spec(), warm);
    expect(dyno.id).toBe(id);
    expect((await waitUntilUp(dyno, 10_000)).ok).toBe(true);
    const body = await (await fetch(`http://${dyno.host}:${dyno.port}/`)).text();
    expect(body).toBe(`hi /app ${USER.uid}`);
    // The app itself runs in the dyno's group.
    expect(procs(id)!.length).toBeGreaterThan(1);
    await warm!.cancel(); // a no-op: the dyno is start()'s now
    expect((await fetch(`http://${dyno.host}:${dyno.port}/`)).status).toBe(200);
    await runtime.stop(dyno, 2000);
    expect(procs(id)).toBeUndefined();
    expect(fs.existsSync(path.join(scratchRoot, id))).toBe(false);
    expect(runtime.scratchInUse().size).toBe(0);
  });

  it('leaves nothing when cancelled: no process, no scratch dir, no cgroup', async () => {
    const warm = await runtime.prestart(pre);
    const id = only(runtime.scratchInUse());
    await expect.poll(() => procs(id)?.length ?? 0, { timeout: 5000 }).toBeGreaterThan(0);
    const pgid = procs(id)![0];
    await warm!.cancel();
    expect(groupAlive(pgid)).toBe(false);
    expect(procs(id)).toBeUndefined();
    expect(fs.existsSync(path.join(scratchRoot, id))).toBe(false);
    expect(runtime.scratchInUse().size).toBe(0);
  });

  it.each([
    ['other limits', { limits: { ...LIMITS, memoryBytes: 300 * 1024 ** 2 } }],
    ['a command of more than one line', { command: 'true\nnode server.js' }],
    ['another app', { app: 'other' }],
  ])('starts afresh, and removes the prestarted one, for a dyno with %s', async (_what, over: Partial<DynoSpec>) => {
    const warm = await runtime.prestart(pre);
    const id = only(runtime.scratchInUse());
    await expect.poll(() => procs(id)?.length ?? 0, { timeout: 5000 }).toBeGreaterThan(0);
    const dyno = await runtime.start(spec(over), warm);
    expect(dyno.id).not.toBe(id);
    expect((await waitUntilUp(dyno, 10_000)).ok).toBe(true);
    await expect.poll(() => procs(id), { timeout: 5000 }).toBeUndefined();
    expect(fs.existsSync(path.join(scratchRoot, id))).toBe(false);
    await runtime.stop(dyno, 2000);
    expect(runtime.scratchInUse().size).toBe(0);
  });
});
