// What bubblewrap is given for one sandboxed process: its command line (which names no host path),
// and the options, environment, accounts, seccomp filter and files it reads from pipes. Shared by
// a sandbox started at once (spawn.ts) and one started ahead of its slug (warm.ts).
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { nodeHomeSeen } from '../../builder/index.js';
import { TOOLS_SEEN } from '../../builder/tools.js';
import { sizedTmpfs } from './confine.js';
import type { SandboxHost } from './host.js';
import { isolationArgs, openParents } from './isolation.js';
import { noUserNamespacesFilter } from './seccomp.js';
import type { AppUser, SandboxSpec } from './spec.js';

/** Where every process of an app finds its tree, as on Heroku. */
export const APP_ROOT = '/app';

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
export const FIRST_FILE_FD = 8;

/** The process's environment with PATH (its own directories, tools and Node first) and HOME set. */
export function withPath(spec: SandboxSpec, root: string, host: SandboxHost): Record<string, string> {
  const prepend = spec.pathPrepend.map((p) => path.join(root, p));
  const sandboxed = host.kind === 'bwrap';
  const node = spec.node ? [path.join(nodeHomeSeen(spec.node, sandboxed), 'bin')] : [];
  const tools = spec.tools ? spec.tools.dirs.map((d) => path.posix.join(sandboxed ? TOOLS_SEEN : spec.tools!.root, d, 'bin')) : [];
  return { ...spec.env, PATH: [...prepend, ...tools, ...node, host.systemPath].join(':'), HOME: root };
}

/**
 * bwrap and what it execs: setpriv's drop to the app's uid (as root), then the argv behind LOAD_ENV.
 * Its mount options come through fd 3, so /proc/1/cmdline inside the sandbox names no host path.
 */
export function bwrapCommand(host: SandboxHost, spec: Pick<SandboxSpec, 'user' | 'argv'>): string[] {
  const drop = spec.user
    ? [host.setpriv, `--reuid=${spec.user.uid}`, `--regid=${spec.user.gid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--']
    : [];
  return [host.bwrap, '--args', '3', '--', ...drop, ...withEnvLoaded(spec.argv)];
}

/** What bwrap reads from its fds (3 on, see FIRST_FILE_FD), for a sandbox whose /app is `appDir` on the host. */
export function bwrapFeeds(host: SandboxHost, spec: SandboxSpec, appDir: string): [number, string | Buffer][] {
  const files = Object.entries(spec.files ?? {});
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
  const env = Object.entries(withPath(spec, APP_ROOT, host)).map(([k, v]) => `${k}=${v}\0`);
  const { passwd, group } = accounts(spec.user ?? { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });
  return [[3, `${inner.join('\0')}\0`], [4, env.join('')], [5, passwd], [6, group], [7, filter ?? ''], ...files.map(([, text], i): [number, string] => [FIRST_FILE_FD + i, text])];
}

/** Writes each feed to the child's pipe of that fd and closes it: bwrap reads them once it starts. */
export function feed(child: ChildProcess, feeds: [number, string | Buffer][]): void {
  for (const [fd, text] of feeds) {
    const pipe = (child.stdio as unknown as NodeJS.WritableStream[])[fd];
    pipe.on('error', () => undefined);
    pipe.end(text);
  }
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
