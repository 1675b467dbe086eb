// A dyno container's resource limits (lib/dyno-limits.ts): memory and swap as one limit, processes
// and threads, a CPU weight, /tmp as a tmpfs of the disk limit (its pages count as the dyno's
// memory), and its other writes (/app, /var/tmp) capped by the storage driver where it can
// (overlay2 on xfs with pquota, btrfs, zfs), else watched: a dyno whose writes pass the limit is
// stopped with a line that says so. Which limit stopped a dyno is in its exit status.
import type Docker from 'dockerode';
import type { DynoLimits } from '../../../lib/dyno-limits.js';
import { LABELS } from '../../docker/engine.js';
import { idempotent } from '../../docker/streams.js';
import type { ExitStatus } from '../types.js';

/** How often a dyno's writes are measured where the storage driver cannot cap them. */
export const DISK_POLL_MS = 5000;

/** The HostConfig limits of a dyno; `quota`: the storage driver caps writes itself (StorageOpt size). */
export function limitOptions(limits: DynoLimits, quota: boolean): Partial<Docker.HostConfig> {
  return {
    // Swap equal to memory: none, so an app over its memory is killed rather than slowing the host.
    Memory: limits.memoryBytes,
    MemorySwap: limits.memoryBytes,
    // A fork bomb stops at the dyno's own limit instead of the host's.
    PidsLimit: limits.pids,
    CpuShares: limits.cpuShares,
    // Heroku's /tmp allows exec (build tools unpack and run binaries there).
    Tmpfs: { '/tmp': `rw,exec,nosuid,nodev,mode=1777,size=${limits.diskBytes}` },
    ...(quota ? { StorageOpt: { size: String(limits.diskBytes) } } : {}),
  };
}

/**
 * Whether the engine's storage driver caps a container's writes (`StorageOpt: {size}`): asked by
 * creating (never starting) a labelled container with one, since only the engine knows (overlay2
 * needs xfs mounted with pquota, which `docker info` does not say).
 */
export async function storageQuota(docker: Docker, image: string, labels: Record<string, string>): Promise<boolean> {
  try {
    const probe = await docker.createContainer({ Image: image, Cmd: ['true'], Labels: { ...labels, [LABELS.kind]: 'probe' }, HostConfig: { StorageOpt: { size: '1g' }, NetworkMode: 'none' } });
    await idempotent(() => probe.remove({ force: true }));
    return true;
  } catch {
    return false;
  }
}

function size(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GB` : `${Math.round(bytes / 1024 ** 2)} MB`;
}

/**
 * Measures a running dyno's writes every DISK_POLL_MS (the engine's SizeRw: what it added to its
 * image's filesystem) and kills it once they pass its disk limit. Resolves the reason it killed it;
 * `stop()` ends the watch.
 */
export function watchDisk(container: Docker.Container, limitBytes: number, pollMs = DISK_POLL_MS): { reason: () => string | undefined; stop: () => void } {
  let reason: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const check = async () => {
    // `size` is a query parameter of the engine's inspect the typings do not list.
    const info = await container
      .inspect({ size: true } as Docker.ContainerInspectOptions)
      .then((i): Docker.ContainerInspectInfo & { SizeRw?: number } => i)
      .catch(() => undefined);
    if (stopped || !info?.State.Running) return;
    const written = info.SizeRw ?? 0;
    if (written > limitBytes) {
      reason = `Process stopped: it wrote ${size(written)} to its filesystem outside /tmp (under /app), over its disk limit of ${size(limitBytes)} (PAAS_DYNO_DISK)`;
      await idempotent(() => container.kill({ signal: 'SIGKILL' }));
      return;
    }
    timer = setTimeout(() => void check(), pollMs);
    timer.unref();
  };
  timer = setTimeout(() => void check(), pollMs);
  timer.unref();
  return {
    reason: () => reason,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** Which limit killed an exited dyno: its memory (the kernel's OOM killer, R15), or its writes (the watch). */
export async function exitCause(container: Docker.Container, disk?: () => string | undefined): Promise<Pick<ExitStatus, 'outOfMemory' | 'reason'>> {
  const reason = disk?.();
  if (reason) return { reason };
  const info = await container.inspect().catch(() => undefined);
  return info?.State.OOMKilled ? { outOfMemory: true } : {};
}
