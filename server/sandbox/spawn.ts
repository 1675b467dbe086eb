import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { bwrapCommand, bwrapFeeds, feed, withPath } from './bwrap.js';
import { confined, confinedSetup, MOUNT_OVERLAY, MOUNT_SIZED_OVERLAY } from './confine.js';
import { type SandboxHost, sharedDirMode } from './host.js';
import type { AppUser, Sandboxed, SandboxSpec } from './spec.js';
import { runApart } from '../../lib/run-apart.js';

const run = runApart;

export { APP_ROOT } from './bwrap.js';
export type { AppUser, Sandboxed, SandboxSpec } from './spec.js';

/** The identity an app's processes run under: its own uid as root; the server's own otherwise. */
export function appUser(app: { uid: number | null }, host: SandboxHost): AppUser | undefined {
  return host.asRoot && app.uid !== null ? { uid: app.uid, gid: app.uid } : undefined;
}

/** Whether /app is an overlay mounted by us: only root can, and only inside bwrap's namespaces. */
export function usesOverlay(host: SandboxHost): boolean {
  return host.kind === 'bwrap' && host.overlay;
}

/** Whether a dyno's /app writes go to a tmpfs of its disk size (an overlay with a size to keep to). */
export function sizedLayer(spec: SandboxSpec): boolean {
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
  const bwrap = bwrapCommand(host, spec);
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
  feed(child, bwrapFeeds(host, spec, appDir));
  return { child, monitorPid: child.pid, mapsSignals: true };
}

/** Removes a process's scratch layer; its overlay went with the process's mount namespace. */
export async function removeScratch(scratchDir: string): Promise<void> {
  await fs.rm(scratchDir, { recursive: true, force: true });
}
