import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { type NodeInstall, nodeHomeSeen } from '../../builder/index.js';
import { TOOLS_SEEN } from '../../builder/tools.js';
import { confined, confinedSetup, MOUNT_SIZED_OVERLAY, type SandboxLimits, sizedTmpfs } from './confine.js';
import { type SandboxHost, sharedDirMode } from './host.js';
import { isolationArgs, openParents } from './isolation.js';
import { noUserNamespacesFilter } from './seccomp.js';
import { runApart } from '../../lib/run-apart.js';

const run = runApart;

/** Where every process of an app finds its tree, as on Heroku. */
export const APP_ROOT = '/app';

/** An app's own unprivileged identity (only when paas runs as root). */
export interface AppUser {
  uid: number;
  gid: number;
}

/** The identity an app's processes run under: its own uid as root; the server's own otherwise. */
export function appUser(app: { uid: number | null }, host: SandboxHost): AppUser | undefined {
  return host.asRoot && app.uid !== null ? { uid: app.uid, gid: app.uid } : undefined;
}

export interface SandboxSpec {
  /** The app's tree on the host, shown to the process at /app. */
  appDir: string;
  /**
   * `direct`: writes under /app land in appDir (a build). `layer`: the process writes to a layer of
   * its own, kept in `scratchDir` and thrown away with it, so the slug under it never changes (a dyno).
   */
  writes: 'direct' | 'layer';
  /** A new directory for the mounts; the caller removes it (removeScratch) once the process is gone. */
  scratchDir: string;
  user?: AppUser;
  /** Run inside the sandbox, never through a shell of ours. */
  argv: string[];
  /** The app's environment; PATH and HOME are set here. */
  env: Record<string, string>;
  /** Directories of the app tree, relative to it, to put first on PATH (node_modules/.bin, .venv/bin). */
  pathPrepend: string[];
  /** The Node.js the app asked for (engines.node), when not the platform's: its bin/ goes on PATH before the system's. */
  node?: NodeInstall;
  /** Package managers the app builds and runs with: the tools root (read-only, at TOOLS_SEEN) and each tool's directory in it, whose bin/ goes on PATH first. */
  tools?: { root: string; dirs: string[] };
  /** A pipe for the process's stdin (a one-off run's input); else it reads nothing. */
  stdin?: boolean;
  /**
   * Files to show read-only inside the sandbox, absolute path → content (a build step's registry
   * settings): bubblewrap reads them from pipes, so they are never on disk. Bubblewrap only.
   */
  files?: Record<string, string>;
  /** The app's network namespace (`/run/netns/…`), entered before anything else runs; bubblewrap only. */
  netns?: string;
  /** Its cgroup and disk size (bubblewrap only): without, it may use all the host has. */
  limits?: SandboxLimits;
}

export interface Sandboxed {
  child: ChildProcess;
  /**
   * bwrap's monitor process, which leads the process group. It must not get the SIGTERM meant for the
   * app: it would die at once and take the app with it (--die-with-parent), with no time to drain.
   */
  monitorPid?: number;
  /** A bwrap exit code above 128 means the app died of signal (code - 128): give that back as a signal. */
  mapsSignals: boolean;
}

// Runs as the app, after the drop to its uid: reads the app's environment from fd 4 (NUL-separated
// KEY=VALUE) and exports it. Until then every process (unshare, sh, bwrap, setpriv), some of them
// root, runs with a fixed environment, so no config var (LD_PRELOAD, say) can steer a privileged
// process. It also enters /app: bwrap, without CAP_DAC_OVERRIDE, cannot enter a tree only the app may enter.
const LOAD_ENV = `cd ${APP_ROOT} || exit 126; while IFS= read -r -d "" paas_kv; do export "$paas_kv"; done <&4; exec 4<&-; unset paas_kv`;

/**
 * The app's argv behind LOAD_ENV, in bash. A bash script with a $0 of its own (the launcher's) takes
 * LOAD_ENV as its first line, in the same bash: one exec fewer on every dyno's start. Any other argv
 * is exec'd by a bash that runs LOAD_ENV first. Either way the command arrives as positional
 * arguments and nothing is spliced into a script but these fixed texts.
 */
function withEnvLoaded(argv: string[]): string[] {
  const [shell, flag, script, ...rest] = argv;
  if (shell === '/bin/bash' && flag === '-c' && rest.length > 0) return [shell, flag, `${LOAD_ENV}\n${script}`, ...rest];
  return ['/bin/bash', '-c', `${LOAD_ENV}; exec "$@"`, 'paas-env', ...argv];
}

// Mounts the dyno's overlay inside the private mount namespace that `unshare` made, then runs bwrap
// there (confinedSetup's script: paas_exec). The overlay options name relative paths, so
// /proc/self/mountinfo inside shows no host path. A fixed script: every value reaches it as a
// positional argument, never spliced into the text.
const MOUNT_OVERLAY = 'cd "$1" && mount -t overlay paas-app -o lowerdir=lower,upperdir=upper,workdir=work merged && shift && paas_exec "$@"';

/**
 * `src` bound read-only at `dest`. bwrap would make the directories above it under our umask
 * (077), closed to the app's uid: they are made open first.
 */
function bindAt(src: string, dest: string): string[] {
  return [...openParents(dest), '--ro-bind', src, dest];
}

/** An engines.node version and the package managers, read-only, at paths that name no host directory. */
function toolMounts(spec: SandboxSpec): string[] {
  return [...(spec.node ? bindAt(spec.node.home, nodeHomeSeen(spec.node, true)) : []), ...(spec.tools ? bindAt(spec.tools.root, TOOLS_SEEN) : [])];
}

/** The spec's files, each read by bwrap from its own pipe (fds from FIRST_FILE_FD on), readable by the app. */
function fileMounts(files: string[]): string[] {
  return files.flatMap((target, i) => [...openParents(target), '--perms', '0444', '--ro-bind-data', String(FIRST_FILE_FD + i), target]);
}

/** bwrap's fds: 3 its options, 4 the app's env, 5 and 6 passwd and group, 7 the seccomp filter, then the spec's files. */
const FIRST_FILE_FD = 8;

/** Whether /app is an overlay mounted by us: only root can, and only inside bwrap's namespaces. */
function usesOverlay(host: SandboxHost): boolean {
  return host.kind === 'bwrap' && host.overlay;
}

/** Whether a dyno's /app writes go to a tmpfs of its disk size (an overlay with a size to keep to). */
function sizedLayer(spec: SandboxSpec): boolean {
  return spec.writes === 'layer' && spec.limits?.diskBytes !== undefined;
}

/**
 * Mounts a throwaway overlay in `scratchRoot`, as every sandbox will. Some filesystems cannot hold
 * an overlay's upper layer (overlayfs itself, inside a container; NFS): there each dyno gets a copy
 * of its slug instead, and paas says so once rather than failing every dyno.
 */
export async function probeOverlay(host: SandboxHost, scratchRoot: string): Promise<SandboxHost> {
  if (!usesOverlay(host)) return host;
  const scratch = path.join(scratchRoot, `probe-${process.pid}`);
  try {
    for (const d of ['lower', 'upper', 'work', 'merged']) await fs.mkdir(path.join(scratch, d), { recursive: true, mode: 0o700 });
    await run('unshare', ['--mount', '--propagation', 'private', '--', ...confinedSetup(undefined, MOUNT_OVERLAY, [scratch, 'true'])]);
    return host;
  } catch (err) {
    const why = ((err as { stderr?: string }).stderr || (err as Error).message).trim().split('\n')[0];
    const warning = `the data dir's filesystem cannot hold an overlay (${why}): each dyno gets a copy of its slug instead, and the host paths of dynos' copies and build trees show in their /proc/self/mountinfo.`;
    return { ...host, overlay: false, warnings: [...host.warnings, warning] };
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Prepares what is bound at /app. As root it is an overlay, named by relative links so that no host
 * path shows in the sandbox's mountinfo: for a dyno the slug is the read-only lower layer under a
 * fresh upper one; for a build the tree itself is the upper layer, over an empty lower one, so
 * writes land in the tree. Without root a dyno gets a copy of the slug and a build the tree itself.
 */
async function prepareScratch(host: SandboxHost, spec: SandboxSpec): Promise<string> {
  const scratch = spec.scratchDir;
  // Without namespaces the app's uid must be able to pass through to its copy.
  await fs.mkdir(scratch, { recursive: true, mode: sharedDirMode(host) });
  if (usesOverlay(host)) {
    if (sizedLayer(spec)) {
      // The layer and its work dir are made on the tmpfs, inside the mount namespace (confine.ts).
      for (const d of ['layer', 'merged']) await fs.mkdir(path.join(scratch, d), { mode: 0o700 });
      await fs.symlink(spec.appDir, path.join(scratch, 'lower'));
      return path.join(scratch, 'merged');
    }
    for (const d of ['work', 'merged']) await fs.mkdir(path.join(scratch, d), { mode: 0o700 });
    const [own, shared] = spec.writes === 'layer' ? ['upper', 'lower'] : ['lower', 'upper'];
    await fs.mkdir(path.join(scratch, own), { mode: 0o700 });
    // /app takes the owner of the upper layer's root: the app, so it can create files there.
    if (spec.user && own === 'upper') await fs.chown(path.join(scratch, own), spec.user.uid, spec.user.gid);
    await fs.symlink(spec.appDir, path.join(scratch, shared));
    return path.join(scratch, 'merged');
  }
  if (spec.writes === 'direct') return spec.appDir;
  // No overlay without root: each dyno gets its own copy, thrown away with the scratch dir.
  const copy = path.join(scratch, 'app');
  await run('cp', ['-a', '--', spec.appDir, copy]);
  return copy;
}

function withPath(spec: SandboxSpec, root: string, host: SandboxHost): Record<string, string> {
  const prepend = spec.pathPrepend.map((p) => path.join(root, p));
  const sandboxed = host.kind === 'bwrap';
  const node = spec.node ? [path.join(nodeHomeSeen(spec.node, sandboxed), 'bin')] : [];
  const tools = spec.tools ? spec.tools.dirs.map((d) => path.posix.join(sandboxed ? TOOLS_SEEN : spec.tools!.root, d, 'bin')) : [];
  return { ...spec.env, PATH: [...prepend, ...tools, ...node, host.systemPath].join(':'), HOME: root };
}

/**
 * Starts one process of an app in its sandbox: bubblewrap (the app's tree at /app, which is also the
 * working directory and HOME, a private /tmp, read-only system directories, its own /proc) under
 * the app's uid, or the uid alone where bubblewrap cannot run. The one way paas starts app code.
 */
export async function startSandboxed(host: SandboxHost, spec: SandboxSpec): Promise<Sandboxed> {
  const appDir = await prepareScratch(host, spec);
  // What the app writes is its own: the child inherits umask 077 (set and restored around the
  // synchronous fork, so no other file of ours is made under it).
  const umask = process.umask(0o077);
  try {
    return launch(host, spec, appDir);
  } finally {
    process.umask(umask);
  }
}

function launch(host: SandboxHost, spec: SandboxSpec, appDir: string): Sandboxed {
  const files = Object.entries(spec.files ?? {});
  if (host.kind === 'none') {
    if (files.length || spec.netns) throw new Error('files and networks can be given only inside bubblewrap');
    // Only the OOM score: no cgroup can be joined once the process runs as the app.
    const argv = confined(undefined, spec.argv);
    const child = spawn(argv[0], argv.slice(1), {
      cwd: appDir,
      env: withPath(spec, appDir, host),
      stdio: [spec.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: true,
      ...(spec.user ? { uid: spec.user.uid, gid: spec.user.gid } : {}),
    });
    return { child, mapsSignals: false };
  }
  const filter = noUserNamespacesFilter();
  const inner = [
    ...isolationArgs('paas', { shared: host.sharedDirs, hidden: host.hiddenFiles }),
    ...toolMounts(spec),
    ...fileMounts(files.map(([target]) => target)),
    '--proc', '/proc',
    '--dev', '/dev',
    ...sizedTmpfs(spec.limits, '/tmp'),
    '--chmod', '1777', '/tmp',
    ...sizedTmpfs(spec.limits, '/var/tmp'),
    '--chmod', '1777', '/var/tmp',
    // As root, what runs before setpriv's drop keeps only what the drop needs: no mknod, no mount.
    ...(host.asRoot ? ['--cap-drop', 'ALL', '--cap-add', 'CAP_SETUID', '--cap-add', 'CAP_SETGID', '--cap-add', 'CAP_SETPCAP'] : []),
    '--bind', appDir, APP_ROOT,
    // The app's own user and group files, read from fds 5 and 6: tools that look up the current
    // user (whoami, os.userInfo, getpass) find it, and the host's accounts stay out of sight.
    '--perms', '0644', '--ro-bind-data', '5', '/etc/passwd',
    '--perms', '0644', '--ro-bind-data', '6', '/etc/group',
    ...(filter ? ['--seccomp', '7'] : []),
  ];
  const drop = spec.user
    ? [host.setpriv, `--reuid=${spec.user.uid}`, `--regid=${spec.user.gid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--']
    : [];
  // Mount options go through fd 3, so /proc/1/cmdline inside the sandbox names no host path.
  const bwrap = [host.bwrap, '--args', '3', '--', ...drop, ...withEnvLoaded(spec.argv)];
  // One root sh in the dyno's own mount namespace joins its cgroup and mounts its overlay, then
  // execs bwrap; without an overlay it only joins. nsenter execs what follows in the app's network
  // namespace: same pid, so the process group is unchanged.
  const user = spec.user ?? { uid: 0, gid: 0 };
  const mount: [string, string[]] = sizedLayer(spec) ? [MOUNT_SIZED_OVERLAY, [spec.scratchDir, String(spec.limits!.diskBytes), String(user.uid), String(user.gid)]] : [MOUNT_OVERLAY, [spec.scratchDir]];
  const sandboxed = usesOverlay(host) ? ['unshare', '--mount', '--propagation', 'private', '--', ...confinedSetup(spec.limits, mount[0], [...mount[1], ...bwrap])] : confined(spec.limits, bwrap);
  const argv = spec.netns ? ['nsenter', `--net=${spec.netns}`, '--', ...sandboxed] : sandboxed;
  const child = spawn(argv[0], argv.slice(1), {
    env: { PATH: host.systemPath },
    stdio: [spec.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe', ...files.map(() => 'pipe' as const)],
    detached: true,
  });
  const env = Object.entries(withPath(spec, APP_ROOT, host)).map(([k, v]) => `${k}=${v}\0`);
  const { passwd, group } = accounts(spec.user ?? { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });
  const feeds: [number, string | Buffer][] = [[3, `${inner.join('\0')}\0`], [4, env.join('')], [5, passwd], [6, group], [7, filter ?? ''], ...files.map(([, text], i): [number, string] => [FIRST_FILE_FD + i, text])];
  for (const [fd, text] of feeds) {
    const pipe = (child.stdio as unknown as NodeJS.WritableStream[])[fd];
    pipe.on('error', () => undefined);
    pipe.end(text);
  }
  return { child, monitorPid: child.pid, mapsSignals: true };
}

/** The sandbox's /etc/passwd and /etc/group: root, nobody and the app, named `app`, at home in /app. */
function accounts(user: AppUser): { passwd: string; group: string } {
  const app = user.uid === 0 ? [] : [`app:x:${user.uid}:${user.gid}:paas app:${APP_ROOT}:/bin/bash`];
  const appGroup = user.gid === 0 ? [] : [`app:x:${user.gid}:`];
  return {
    passwd: [...['root:x:0:0:root:/root:/usr/sbin/nologin', 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin'], ...app, ''].join('\n'),
    group: [...['root:x:0:', 'nogroup:x:65534:'], ...appGroup, ''].join('\n'),
  };
}

/** Removes a process's scratch layer; its overlay went with the process's mount namespace. */
export async function removeScratch(scratchDir: string): Promise<void> {
  await fs.rm(scratchDir, { recursive: true, force: true });
}
