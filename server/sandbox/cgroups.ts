// Resource limits for app processes on the process runtime: one cgroup per dyno, build step, release
// phase or one-off run, under the cgroup paas itself runs in (per controller on cgroup v1, one
// directory on v2), in a directory named after the paas instance so that two servers on one host
// never touch each other's groups. The process joins its group before any app code runs (the
// wrapper in spawn.ts writes its own pid, then execs), so nothing of the app ever runs unlimited.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sharesToWeight } from '../../lib/dyno-limits.js';
import { APP_OOM_SCORE_ADJ, SERVER_OOM_SCORE_ADJ } from './confine.js';
import type { SandboxHost } from './host.js';

export type Controller = 'memory' | 'pids' | 'cpu';
const CONTROLLERS: Controller[] = ['memory', 'pids', 'cpu'];

/** Where this server's groups go: one directory per controller (v1), or the same one for all (v2). */
export interface CgroupLayout {
  version: 1 | 2;
  dirs: Record<Controller, string>;
}

/** What one group may use; cpuShares in cgroup v1 units (v2's cpu.weight is derived). */
export interface GroupLimits {
  memoryBytes: number;
  pids: number;
  cpuShares?: number;
}

/**
 * Where this server's groups go, from the text of /proc/self/cgroup, the cgroup mount root and
 * whether that root is the unified (v2) hierarchy; undefined when a controller we need is missing.
 * v1 lines are `id:memory:/path` (a controller's mount is named by its controllers, `cpu,cpuacct`);
 * v2 has one line, `0::/path`.
 */
export function cgroupLayout(selfCgroup: string, root: string, unified: boolean, instance: string): CgroupLayout | undefined {
  const lines = selfCgroup
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [, , controllers, p] = /^(\d+):([^:]*):(.*)$/.exec(l) ?? [];
      return { controllers: controllers ?? '', path: p ?? '' };
    });
  const leaf = `paas-${instance}`;
  if (unified) {
    const own = lines.find((l) => l.controllers === '');
    if (!own?.path) return undefined;
    const dir = path.join(root, own.path, leaf);
    return { version: 2, dirs: { memory: dir, pids: dir, cpu: dir } };
  }
  const dirs: Partial<Record<Controller, string>> = {};
  for (const ctl of CONTROLLERS) {
    const line = lines.find((l) => l.controllers.split(',').includes(ctl));
    if (line?.path) dirs[ctl] = path.join(root, line.controllers, line.path, leaf);
  }
  return CONTROLLERS.every((c) => dirs[c]) ? { version: 1, dirs: dirs as Record<Controller, string> } : undefined;
}

/** One group of ours: join it by writing a pid to each of `procsFiles`. */
export interface Cgroup {
  procsFiles: string[];
  /** Whether the kernel killed a process of the group for memory: read it before remove(). */
  outOfMemory(): boolean;
  /** Kills what is left in the group and removes it (and its counters). */
  remove(): Promise<void>;
}

function write(file: string, value: string): void {
  fs.writeFileSync(file, value);
}

function counter(file: string, name: string): number {
  try {
    const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(fs.readFileSync(file, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Removes a group directory, killing what still runs in it (it is ours: it is in our group). */
async function removeDir(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      fs.rmdirSync(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY') throw err;
    }
    for (const pid of fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    await sleep(50);
  }
  throw new Error(`cgroup ${dir} still holds processes`);
}

/** This server's cgroups: made under the one it runs in, removed as their processes go. */
export class Cgroups {
  constructor(readonly layout: CgroupLayout) {}

  private unique(): string[] {
    return [...new Set(Object.values(this.layout.dirs))];
  }

  /**
   * Checks that we can make our directories, and removes the groups a previous server of this
   * instance left (only under our instance's directory: nothing else is ours). On v2 the
   * controllers must be enabled for our children; that fails where the cgroup we run in holds
   * processes itself. The directories go again until a group needs them, so a server that fails
   * to start leaves nothing behind.
   */
  async prepare(): Promise<void> {
    for (const dir of this.unique()) {
      this.makeDir(dir);
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) await removeDir(path.join(dir, e.name));
    }
    this.close();
  }

  private makeDir(dir: string): void {
    if (fs.existsSync(dir)) return;
    if (this.layout.version === 2) write(path.join(path.dirname(dir), 'cgroup.subtree_control'), '+memory +pids +cpu');
    fs.mkdirSync(dir, { recursive: true });
    if (this.layout.version === 2) write(path.join(dir, 'cgroup.subtree_control'), '+memory +pids +cpu');
  }

  /** A new group named `name` (unique within this server) with `limits`. */
  create(name: string, limits: GroupLimits): Cgroup {
    const { dirs, version } = this.layout;
    const dir = (c: Controller) => path.join(dirs[c], name);
    for (const d of this.unique()) this.makeDir(d);
    for (const d of new Set(CONTROLLERS.map(dir))) fs.mkdirSync(d);
    const group: Cgroup = {
      procsFiles: [...new Set(CONTROLLERS.map((c) => path.join(dir(c), 'cgroup.procs')))],
      outOfMemory: () => (version === 1 ? counter(path.join(dir('memory'), 'memory.oom_control'), 'oom_kill') : counter(path.join(dir('memory'), 'memory.events'), 'oom_kill')) > 0,
      remove: async () => {
        for (const d of new Set(CONTROLLERS.map(dir))) await removeDir(d);
      },
    };
    try {
      setLimits(version, dir, limits);
    } catch (err) {
      void group.remove().catch(() => undefined);
      throw err;
    }
    return group;
  }

  /** Removes our directories (at shutdown, once every group is gone; one left behind keeps them for the next start to clear). */
  close(): void {
    for (const dir of this.unique()) {
      try {
        fs.rmdirSync(dir);
      } catch {
        // Still holds a group: the next server of this instance removes it.
      }
    }
  }
}

function setLimits(version: 1 | 2, dir: (c: Controller) => string, limits: GroupLimits): void {
  const mem = String(limits.memoryBytes);
  if (version === 1) {
    write(path.join(dir('memory'), 'memory.limit_in_bytes'), mem);
    // Memory and swap together: no swap beyond the limit (absent where swap accounting is off).
    const memsw = path.join(dir('memory'), 'memory.memsw.limit_in_bytes');
    if (fs.existsSync(memsw)) write(memsw, mem);
    write(path.join(dir('pids'), 'pids.max'), String(limits.pids));
    if (limits.cpuShares) write(path.join(dir('cpu'), 'cpu.shares'), String(limits.cpuShares));
    return;
  }
  write(path.join(dir('memory'), 'memory.max'), mem);
  const swap = path.join(dir('memory'), 'memory.swap.max');
  if (fs.existsSync(swap)) write(swap, '0');
  write(path.join(dir('pids'), 'pids.max'), String(limits.pids));
  if (limits.cpuShares) write(path.join(dir('cpu'), 'cpu.weight'), String(sharesToWeight(limits.cpuShares)));
}

/** The cgroup filesystem's usual mount point. */
const CGROUP_ROOT = '/sys/fs/cgroup';

const NO_LIMITS = 'dynos and builds run without memory, process and CPU limits';

/**
 * Lowers the server's own OOM score, so that the kernel's OOM killer never picks paas (its app
 * processes raise theirs again: confine.ts), and makes this server's cgroups ready, or says why
 * there are none (warnings for start-up). Only root can do either; without cgroups the tmpfs
 * size caps still hold.
 */
export async function setUpLimits(instance: string, host: SandboxHost, processRuntime: boolean): Promise<{ cgroups?: Cgroups; warnings: string[] }> {
  const scoreWarning = host.asRoot ? lowerOomScore() : [];
  if (!processRuntime) return { warnings: scoreWarning };
  const limited = await setUpCgroups(instance, host);
  return { ...limited, warnings: [...scoreWarning, ...limited.warnings] };
}

/** Lowers the server's OOM score; a host that keeps even root from doing so (no CAP_SYS_RESOURCE) gets a warning. */
function lowerOomScore(): string[] {
  try {
    fs.writeFileSync('/proc/self/oom_score_adj', String(SERVER_OOM_SCORE_ADJ));
    return [];
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return [`cannot lower paas's own OOM score (${code}: this host withholds CAP_SYS_RESOURCE): only the apps' raised scores (${APP_OOM_SCORE_ADJ}) keep the kernel's OOM killer from picking paas.`];
  }
}

async function setUpCgroups(instance: string, host: SandboxHost): Promise<{ cgroups?: Cgroups; warnings: string[] }> {
  if (!host.asRoot) return { warnings: [`paas is not running as root: ${NO_LIMITS}${host.kind === 'bwrap' ? ' (their /tmp writes are still capped by size, /app writes are not)' : ', nor caps on their /tmp and /app writes'}. Run paas as root to limit each dyno.`] };
  if (host.kind !== 'bwrap') return { warnings: [`without bubblewrap, ${NO_LIMITS}, nor caps on their /tmp and /app writes. Install bubblewrap (apt-get install bubblewrap) to limit each dyno.`] };
  const unified = fs.existsSync(path.join(CGROUP_ROOT, 'cgroup.controllers'));
  let layout: CgroupLayout | undefined;
  try {
    layout = cgroupLayout(fs.readFileSync('/proc/self/cgroup', 'utf8'), CGROUP_ROOT, unified, instance);
  } catch {
    layout = undefined;
  }
  if (!layout) return { warnings: [`no cgroup ${unified ? 'v2' : 'v1 memory, pids and cpu'} hierarchy found under ${CGROUP_ROOT}: ${NO_LIMITS} (their /tmp and /app writes are still capped by size).`] };
  const cgroups = new Cgroups(layout);
  try {
    await cgroups.prepare();
    return { cgroups, warnings: [] };
  } catch (err) {
    const why = (err as Error).message.split('\n')[0];
    const hint = layout.version === 2 ? ' On cgroup v2, run paas in a cgroup of its own with the memory, pids and cpu controllers delegated (systemd: Delegate=yes).' : '';
    return { warnings: [`cannot make cgroups under ${layout.dirs.memory} (${why}): ${NO_LIMITS} (their /tmp and /app writes are still capped by size).${hint}`] };
  }
}
