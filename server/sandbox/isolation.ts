// What every sandbox starts from: bubblewrap's namespaces, the host's system directories read-only,
// and the host files no sandbox may read (the npmrc files operators keep credentials in) hidden.
import fs from 'node:fs';
import path from 'node:path';

let system: { args: string[]; dirs: string[] } | undefined;

/** Read-only system directories; on merged-/usr hosts /bin and friends are links into /usr. Read once. */
function systemMounts(): { args: string[]; dirs: string[] } {
  if (system) return system;
  const dirs = ['/usr', '/etc'];
  const links: string[] = [];
  for (const dir of ['/bin', '/sbin', '/lib', '/lib64', '/lib32', '/libx32']) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.lstatSync(dir);
    } catch {
      continue;
    }
    if (stat.isSymbolicLink()) links.push('--symlink', fs.readlinkSync(dir), dir);
    else if (stat.isDirectory()) dirs.push(dir);
  }
  return (system = { args: [...dirs.flatMap((d) => ['--ro-bind', d, d]), ...links], dirs });
}

/**
 * Binds /dev/null over each of `files` that the sandbox would otherwise show (a regular file, by its
 * real path, under one of `shown`): it reads as empty, and what is written there is lost. A device
 * bind, as on a plain bind (nodev) opening it would fail, and yarn 1 fails on an npmrc it cannot
 * read. Looked up at every start, so a file made after paas started is hidden too.
 */
function hideArgs(files: string[], shown: string[]): string[] {
  const real = new Set<string>();
  for (const file of files) {
    try {
      const target = fs.realpathSync(file);
      if (fs.statSync(target).isFile() && shown.some((dir) => target.startsWith(`${dir}/`))) real.add(target);
    } catch {
      // Not there (or a dangling link): nothing to hide.
    }
  }
  return [...real].flatMap((file) => ['--dev-bind', '/dev/null', file]);
}

/**
 * bwrap's namespaces and read-only system directories, the base of every sandbox: an app's
 * processes and an add-on's server (server/addons/process) alike. `shared` directories are bound
 * read-only too; `hidden` files under any of them read as empty (SandboxHost.hiddenFiles).
 */
export function isolationArgs(hostname: string, opts: { shared?: string[]; hidden?: string[] } = {}): string[] {
  const { args, dirs } = systemMounts();
  const shared = opts.shared ?? [];
  return [
    '--die-with-parent', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try', '--hostname', hostname,
    ...args,
    ...shared.flatMap((d) => ['--ro-bind', d, d]),
    // After every bind they would sit under, or those would cover them again.
    ...hideArgs(opts.hidden ?? [], [...dirs, ...shared]),
  ];
}

/** The directories above `target` (not /), outermost first, made open (bwrap would make them under our umask, 077). */
export function openParents(target: string): string[] {
  const parents: string[] = [];
  for (let dir = path.posix.dirname(target); dir !== '/'; dir = path.posix.dirname(dir)) parents.unshift(dir);
  return parents.flatMap((dir) => ['--perms', '0755', '--dir', dir]);
}
