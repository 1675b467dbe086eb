// A dyno container's resource limits (lib/dyno-limits.ts): memory and swap as one limit, processes
// and threads, a CPU weight, /tmp as a tmpfs of the disk limit (its pages count as the dyno's
// memory), and its other writes (/app, /var/tmp) capped by the storage driver where it can
// (overlay2 on xfs with pquota, btrfs, zfs), else watched: a dyno whose writes pass the limit is
// stopped with a line that says so. Which limit stopped a dyno is its exit's `reason`.
import type Docker from 'dockerode';
import type { DynoLimits } from '../../../lib/dyno-limits.js';
import { LABELS } from '../../docker/engine.js';
import { idempotent } from '../../docker/streams.js';

/** Heroku's words for a dyno killed over its memory. */
export const R15 = 'Error R15 (Memory quota vastly exceeded)';

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

/** Why an exited dyno was killed by a limit: R15 when the kernel killed it for memory. */
export async function exitReason(container: Docker.Container, disk?: () => string | undefined): Promise<string | undefined> {
  const byDisk = disk?.();
  if (byDisk) return byDisk;
  const info = await container.inspect().catch(() => undefined);
  return info?.State.OOMKilled ? R15 : undefined;
}
