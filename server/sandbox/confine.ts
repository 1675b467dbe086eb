// The pieces of a sandbox that limit what its process may use (see cgroups.ts): fixed scripts and
// bubblewrap options, every value passed as a positional argument, never spliced into a script.

/** What limits one sandboxed process. */
export interface SandboxLimits {
  /** The cgroup.procs files of its group (one per controller on cgroup v1): joined before anything else runs. */
  cgroupProcs: string[];
  /** The size of its private /tmp and /var/tmp, and of the layer a dyno writes /app to, bytes. */
  diskBytes?: number;
}

/**
 * The server lowers its own oom_score_adj (paas must never be what the OOM killer picks); an app's
 * processes must not inherit that, so they raise theirs before they run. Where root holds
 * CAP_SYS_RESOURCE the raise also sets the floor: the app cannot lower it again.
 */
export const APP_OOM_SCORE_ADJ = 500;
export const SERVER_OOM_SCORE_ADJ = -500;

// Runs first, as root: writes its own pid into each cgroup.procs named before `--`, raises its OOM
// score, then execs the rest. Everything after it (unshare, bwrap, the app) starts inside the
// group, so no app code ever runs unlimited. `exec` keeps the pid: the caller's process group and
// signals are unchanged.
const JOIN = `while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; echo ${APP_OOM_SCORE_ADJ} > /proc/self/oom_score_adj || exit 125; exec "$@"`;

/** `argv` started inside its cgroup with the app's OOM score. */
export function confined(limits: SandboxLimits | undefined, argv: string[]): string[] {
  return ['/bin/sh', '-c', JOIN, 'paas-limits', ...(limits?.cgroupProcs ?? []), '--', ...argv];
}

/** bwrap options for a tmpfs at `dest` of the process's disk size (unbounded but by RAM without one). */
export function sizedTmpfs(limits: SandboxLimits | undefined, dest: string): string[] {
  return [...(limits?.diskBytes ? ['--size', String(limits.diskBytes)] : []), '--tmpfs', dest];
}

/**
 * Like MOUNT_OVERLAY in spawn.ts, but the dyno's upper layer (what it writes under /app) lives on a
 * tmpfs of its disk size, mounted in the same private mount namespace and gone with it. The tmpfs's
 * pages are charged to the memory cgroup of whoever writes them: the dyno. $2 is the size, $3 the
 * app's uid:gid, which owns the layer's root (and so /app).
 */
export const MOUNT_SIZED_OVERLAY =
  'cd "$1" && mount -t tmpfs -o "size=$2,mode=0700" paas-disk layer && mkdir layer/upper layer/work && chown "$3" layer/upper && mount -t overlay paas-app -o lowerdir=lower,upperdir=layer/upper,workdir=layer/work merged && shift 3 && exec "$@"';
