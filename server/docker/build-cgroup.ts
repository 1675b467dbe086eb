// The engine's build API limits a build step's memory but not its processes. Its `cgroupparent`
// puts every step container of one build under a cgroup paas makes first, with pids.max set to
// PAAS_BUILD_PIDS: the kernel counts the steps' processes there, so a fork bomb in a build stops at
// the build's limit. Only where paas shares the engine's cgroup tree (a local engine with the
// cgroupfs driver, v1 or v2); elsewhere builds have no process limit and the server says so once.
import fs from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';

const ROOT = '/sys/fs/cgroup';

/** One build's cgroup parent, to pass as `cgroupparent`, and its removal once the build is over. */
export interface BuildCgroup {
  parent: string | undefined;
  remove(): Promise<void>;
}

/** Where the pids controller's directory of a cgroup named `name` is, on this host's hierarchy. */
async function pidsDir(name: string): Promise<string | undefined> {
  const v1 = path.join(ROOT, 'pids');
  if (await fs.stat(path.join(v1, 'cgroup.procs')).then(() => true, () => false)) return path.join(v1, name);
  const controllers = await fs.readFile(path.join(ROOT, 'cgroup.subtree_control'), 'utf8').catch(() => '');
  return controllers.split(/\s+/).includes('pids') ? path.join(ROOT, name) : undefined;
}

/** The cgroup directories the engine made under every hierarchy for `name` (v1 has one per controller). */
async function allDirs(name: string): Promise<string[]> {
  const entries = await fs.readdir(ROOT, { withFileTypes: true }).catch(() => []);
  const dirs = entries.filter((e) => e.isDirectory()).map((e) => path.join(ROOT, e.name, name));
  return [...dirs, path.join(ROOT, name)];
}

/** Makes the builds' cgroups on this server's engine, when it can. */
export class BuildCgroups {
  private usable?: Promise<string | undefined>;

  constructor(private readonly docker: Docker, private readonly warn: (line: string) => void) {}

  /** A cgroup for one build (`name`: ours, unique per build) whose processes stop at `pids`. */
  async make(name: string, pids: number): Promise<BuildCgroup> {
    const none = { parent: undefined, remove: async () => undefined };
    const problem = await (this.usable ??= this.check());
    if (problem) return none;
    const dir = await pidsDir(name);
    if (!dir) return none;
    try {
      await fs.mkdir(dir, { recursive: true });
      await fs.writeFile(path.join(dir, 'pids.max'), String(pids));
    } catch (err) {
      this.warn(`builds have no process limit (PAAS_BUILD_PIDS): could not make the cgroup ${dir}: ${(err as Error).message}`);
      await fs.rmdir(dir).catch(() => undefined);
      return none;
    }
    // Emptied when the build's last step container is removed; the engine made it under each hierarchy.
    const remove = async () => void (await Promise.all((await allDirs(name)).map((d) => fs.rmdir(d).catch(() => undefined))));
    return { parent: `/${name}`, remove };
  }

  /** Why this engine's builds cannot be given a cgroup of paas's (said once), or undefined. */
  private async check(): Promise<string | undefined> {
    const host = process.env.DOCKER_HOST;
    const info = (await this.docker.info().catch(() => ({}))) as { CgroupDriver?: string };
    const problem =
      host && !host.startsWith('unix://') ? `the engine at ${host} is not on this host`
      : info.CgroupDriver !== 'cgroupfs' ? `the engine's cgroup driver is ${info.CgroupDriver ?? 'unknown'}, not cgroupfs`
      : (await pidsDir('x')) ? undefined
      : 'this host has no pids cgroup controller paas can use';
    if (problem) this.warn(`Docker builds have no process limit (PAAS_BUILD_PIDS): ${problem}`);
    return problem;
  }
}
