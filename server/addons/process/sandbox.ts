import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import type { SandboxHost } from '../../sandbox/host.js';
import { isolationArgs } from '../../sandbox/isolation.js';

/** Where an add-on's own directory appears inside its sandbox: no host path shows to the server. */
export const ADDON_ROOT = '/addon';

/** One add-on server's identity and tree, as the sandbox needs them. */
export interface AddonBox {
  host: SandboxHost;
  /** `<data>/addons/<name>`: owned by the add-on's uid, mode 0700. */
  dir: string;
  /** Its uid (and gid); undefined when paas does not run as root (the server runs as paas). */
  uid: number | undefined;
  /** The server's network namespace (`/run/netns/…`) when it has one of its own; bubblewrap only. */
  netns?: string;
}

/** The add-on's directory as the server sees it: /addon in a sandbox, the host path without one. */
export function seen(box: AddonBox): string {
  return box.host.kind === 'bwrap' ? ADDON_ROOT : box.dir;
}

/**
 * Starts `argv` (a PostgreSQL or Redis binary) for an add-on: in bubblewrap, it sees its own
 * directory read-write at /addon, system directories read-only, a private /tmp and /proc, and
 * nothing of paas's data dir; as root it runs under the add-on's uid with no capabilities. `env`
 * is all it gets (never a password in argv: /proc/<pid>/cmdline is world-readable).
 */
export function spawnInBox(box: AddonBox, argv: string[], env: Record<string, string> = {}): ChildProcess {
  const { host } = box;
  const fullEnv = { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', ...env };
  const user = box.uid !== undefined && host.asRoot ? box.uid : undefined;
  if (host.kind === 'none') {
    return spawn(argv[0], argv.slice(1), {
      cwd: box.dir,
      env: fullEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
      ...(user !== undefined ? { uid: user, gid: user } : {}),
    });
  }
  const drop = user !== undefined ? [host.setpriv, `--reuid=${user}`, `--regid=${user}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--'] : [];
  const args = [
    ...isolationArgs('paas-addon', { hidden: host.hiddenFiles }),
    // The server looks its own user up (initdb refuses a uid without a name): its own files.
    '--ro-bind', `${box.dir}/etc/passwd`, '/etc/passwd',
    '--ro-bind', `${box.dir}/etc/group`, '/etc/group',
    '--proc', '/proc',
    '--dev', '/dev',
    '--tmpfs', '/dev/shm',
    '--tmpfs', '/tmp',
    '--chmod', '1777', '/tmp',
    ...(host.asRoot ? ['--cap-drop', 'ALL', '--cap-add', 'CAP_SETUID', '--cap-add', 'CAP_SETGID', '--cap-add', 'CAP_SETPCAP'] : []),
    '--bind', box.dir, ADDON_ROOT,
    '--',
    ...drop,
    ...argv,
  ];
  // nsenter execs bwrap in the add-on's network: the same pid, so serverPid's walk is unchanged.
  const argv0 = box.netns ? ['nsenter', `--net=${box.netns}`, '--', host.bwrap] : [host.bwrap];
  return spawn(argv0[0], [...argv0.slice(1), ...args], { env: fullEnv, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
}

/** The passwd and group files an add-on's sandbox shows: root, nobody and the server's own user. */
export function accountFiles(name: string, uid: number, home: string): { passwd: string; group: string } {
  const own = uid === 0 ? [] : [`${name}:x:${uid}:${uid}:paas add-on:${home}:/usr/sbin/nologin`];
  return {
    passwd: ['root:x:0:0:root:/root:/usr/sbin/nologin', 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin', ...own, ''].join('\n'),
    group: ['root:x:0:', 'nogroup:x:65534:', ...(uid === 0 ? [] : [`${name}:x:${uid}:`]), ''].join('\n'),
  };
}

/**
 * The server process itself inside the sandbox (bwrap's monitor → its pid 1 → the server, which
 * setpriv exec'd): the one to signal for a clean shutdown. Without bwrap, the child is the server.
 */
export function serverPid(child: ChildProcess, host: SandboxHost): number | undefined {
  if (child.pid === undefined) return undefined;
  if (host.kind === 'none') return child.pid;
  let pid = child.pid;
  for (let depth = 0; depth < 2; depth++) {
    const next = childrenOf(pid)[0];
    if (next === undefined) return undefined;
    pid = next;
  }
  return pid;
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}
