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
// score, then execs the rest. Everything after it (bwrap, the app) starts inside the group, so no
// app code ever runs unlimited. `exec` keeps the pid: the caller's process group and signals are
// unchanged. For a sandbox without its own mount namespace (see confinedSetup for the other).
const JOIN = `while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; echo ${APP_OOM_SCORE_ADJ} > /proc/self/oom_score_adj || exit 125; exec "$@"`;

/** `argv` started inside its cgroup with the app's OOM score. */
export function confined(limits: SandboxLimits | undefined, argv: string[]): string[] {
  return ['/bin/sh', '-c', JOIN, 'paas-limits', ...(limits?.cgroupProcs ?? []), '--', ...argv];
}

// The head of a sandbox's set-up script (the mounts before bwrap, in spawn.ts), run as root. Moving a
// process into a cgroup waits out an RCU grace period (~10 ms on this host's cgroup v1, the largest
// part of a dyno's start), so a background subshell moves the script's own process ($$ is the
// script's pid in a subshell too) while the script does its mounts, and `paas_exec` waits for that
// move before it execs: bwrap, and so the app it forks, starts inside the group. Only the script's
// own short-lived helpers (mount, install) may run before the move, never app code.
const JOIN_BEHIND = [
  '(while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done) & paas_join=$!',
  'while [ "$1" != -- ]; do shift; done; shift',
  `echo ${APP_OOM_SCORE_ADJ} > /proc/self/oom_score_adj || exit 125`,
  'paas_exec() { wait "$paas_join" || exit 125; exec "$@"; }',
].join('\n');

/**
 * A set-up `script` (fixed text; its values and then the command to exec come as positional
 * arguments, `args`) run by one root sh that joins the process's cgroup and raises its OOM score
 * alongside; the script ends with `paas_exec "$@"`, which execs only once the process is in its group.
 */
export function confinedSetup(limits: SandboxLimits | undefined, script: string, args: string[]): string[] {
  return ['/bin/sh', '-c', `${JOIN_BEHIND}\n${script}`, 'paas-sandbox', ...(limits?.cgroupProcs ?? []), '--', ...args];
}

/** bwrap options for a tmpfs at `dest` of the process's disk size (unbounded but by RAM without one). */
export function sizedTmpfs(limits: SandboxLimits | undefined, dest: string): string[] {
  return [...(limits?.diskBytes ? ['--size', String(limits.diskBytes)] : []), '--tmpfs', dest];
}

// Mounts a dyno's overlay inside the private mount namespace that `unshare` made, then runs bwrap
// there (confinedSetup's script: paas_exec). The overlay options name relative paths, so
// /proc/self/mountinfo inside shows no host path. Fixed scripts: every value reaches them as a
// positional argument, never spliced into the text.
const OVERLAY = 'mount -t overlay paas-app -o lowerdir=lower,upperdir=upper,workdir=work merged';
/** The overlay in "$1" (the scratch dir: lower, upper, work, merged), then the command. */
export const MOUNT_OVERLAY = `cd "$1" && ${OVERLAY} && shift && paas_exec "$@"`;

// A dyno's upper layer (what it writes under /app) on a tmpfs of its disk size, mounted in the same
// private mount namespace and gone with it. The tmpfs's pages are charged to the memory cgroup of
// whoever writes them: the dyno. $2 is the size, $3 and $4 the app's uid and gid, which own the
// layer's directories (the upper one's root is /app's): one `install` makes both. The work
// directory is never reachable from the sandbox, which binds only `merged`, behind the tmpfs's root (0700, root's).
const SIZED_LAYER = 'mount -t tmpfs -o "size=$2,mode=0700" paas-disk layer && install -d -m 0700 -o "$3" -g "$4" layer/upper layer/work';
const SIZED_OVERLAY = 'mount -t overlay paas-app -o lowerdir=lower,upperdir=layer/upper,workdir=layer/work merged';

/** Like MOUNT_OVERLAY, with the upper layer on a sized tmpfs: "$1" the scratch dir, then size, uid, gid, then the command. */
export const MOUNT_SIZED_OVERLAY = `cd "$1" && ${SIZED_LAYER} && ${SIZED_OVERLAY} && shift 4 && paas_exec "$@"`;

// A dyno started ahead of its slug (warm.ts) does all that needs no slug, then waits: its cgroup
// join is over first (and reaped: paas_exec need not wait again), then `read` takes one line from
// fd 8, the last argument of the command (the Procfile command, which is one line), sent once
// `lower` points at the slug and bwrap's fds are written. Only then is the overlay mounted and
// bwrap exec'd, as above. End-of-file instead (the server cancelled, or died) ends the script. The
// line is read into a variable and passed on as a positional argument: never spliced into a script.
const GO = 'wait "$paas_join" || exit 125; paas_exec() { exec "$@"; }; IFS= read -r paas_cmd <&8 && exec 8<&-';

/** MOUNT_OVERLAY for a dyno started ahead of its slug: mounts once fd 8 gives the command's last argument. */
export const WARM_OVERLAY = `cd "$1" && shift && ${GO} && ${OVERLAY} && paas_exec "$@" "$paas_cmd"`;

/** MOUNT_SIZED_OVERLAY for a dyno started ahead of its slug: the tmpfs at once, the overlay once fd 8 gives the command's last argument. */
export const WARM_SIZED_OVERLAY = `cd "$1" && ${SIZED_LAYER} && shift 4 && ${GO} && ${SIZED_OVERLAY} && paas_exec "$@" "$paas_cmd"`;
