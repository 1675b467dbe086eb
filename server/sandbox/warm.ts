// A dyno's sandbox started ahead of its slug: while a push builds, the part of the chain that needs
// no slug (nsenter into the app's network, unshare's mount namespace, the root sh that joins the
// dyno's cgroup, its sized tmpfs and layer directories) runs and then waits on a pipe. At go the
// slug is linked in as `lower`, bwrap's fds are written and the command's last argument is sent: the
// sh mounts the overlay and execs bwrap as a sandbox started at once would (spawn.ts). Nothing of
// the app runs before go, and what runs after is the same chain with the same inputs.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { bwrapCommand, bwrapFeeds, feed } from './bwrap.js';
import { confinedSetup, type SandboxLimits, WARM_OVERLAY, WARM_SIZED_OVERLAY } from './confine.js';
import type { SandboxHost } from './host.js';
import type { AppUser, Sandboxed, SandboxSpec } from './spec.js';
import { removeScratch, usesOverlay } from './spawn.js';

/** The fd the waiting sh reads its go line from: after bwrap's (3–7); a warm sandbox takes no files. */
const GO_FD = 8;

/** What a sandbox started ahead of its slug is made for: at go, its SandboxSpec must agree with it. */
export interface WarmSpec {
  /** A new directory for the mounts, as SandboxSpec's; removed when the warm sandbox is cancelled. */
  scratchDir: string;
  user?: AppUser;
  netns?: string;
  limits?: SandboxLimits;
  /** The argv to run but its last argument, which comes at go (the launcher, then the Procfile command). */
  argvHead: string[];
}

/** A sandbox waiting for its slug. */
export interface WarmSandbox {
  /** Its process, which leads its process group; it becomes the dyno's at go. */
  readonly child: ChildProcess;
  /** Whether `spec` is what this sandbox was made for (or it must be cancelled and a new one started). */
  fits(spec: SandboxSpec): boolean;
  /** Links the slug in, writes bwrap's fds and lets the sh go on: the sandbox runs `spec` from here. */
  go(spec: SandboxSpec): Promise<Sandboxed>;
  /** Ends it and removes its scratch dir (before go only); resolves once its process is gone. */
  cancel(): Promise<void>;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Starts a dyno's sandbox up to the point where it needs the slug, where the sandbox is bubblewrap
 * over an overlay (as root); undefined elsewhere (start it at once there).
 */
export async function prestartSandboxed(host: SandboxHost, warm: WarmSpec): Promise<WarmSandbox | undefined> {
  if (!usesOverlay(host)) return undefined;
  const scratch = warm.scratchDir;
  const user = warm.user ?? { uid: 0, gid: 0 };
  const sized = warm.limits?.diskBytes !== undefined;
  // The directories spawn.ts's prepareScratch makes, but the link to the slug.
  await fs.mkdir(scratch, { recursive: true, mode: 0o700 });
  for (const d of sized ? ['layer', 'merged'] : ['work', 'merged', 'upper']) await fs.mkdir(path.join(scratch, d), { mode: 0o700 });
  if (!sized && warm.user) await fs.chown(path.join(scratch, 'upper'), warm.user.uid, warm.user.gid);
  // A placeholder last argument: withEnvLoaded's form depends only on there being one.
  const bwrap = bwrapCommand(host, { user: warm.user, argv: [...warm.argvHead, ''] }).slice(0, -1);
  const script = sized ? ([WARM_SIZED_OVERLAY, [scratch, String(warm.limits!.diskBytes), String(user.uid), String(user.gid)]] as const) : ([WARM_OVERLAY, [scratch]] as const);
  const sandboxed = ['unshare', '--mount', '--propagation', 'private', '--', ...confinedSetup(warm.limits, script[0], [...script[1], ...bwrap])];
  const argv = warm.netns ? ['nsenter', `--net=${warm.netns}`, '--', ...sandboxed] : sandboxed;
  // What the app writes is its own: the child inherits umask 077, as in startSandboxed.
  const umask = process.umask(0o077);
  let child: ChildProcess;
  try {
    child = spawn(argv[0], argv.slice(1), { env: { PATH: host.systemPath }, stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe'], detached: true });
  } finally {
    process.umask(umask);
  }
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  let state: 'waiting' | 'gone' | 'taken' = 'waiting';
  void exited.then(() => {
    if (state === 'waiting') state = 'gone';
  });
  const goPipe = (child.stdio as unknown as NodeJS.WritableStream[])[GO_FD];
  goPipe.on('error', () => undefined);
  const warmSandbox: WarmSandbox = {
    child,
    fits(spec) {
      const [last] = spec.argv.slice(-1);
      return (
        state === 'waiting' &&
        spec.writes === 'layer' &&
        spec.scratchDir === scratch &&
        !spec.stdin &&
        Object.keys(spec.files ?? {}).length === 0 &&
        spec.netns === warm.netns &&
        same(spec.user, warm.user) &&
        same(spec.limits, warm.limits) &&
        same(spec.argv.slice(0, -1), warm.argvHead) &&
        // `read` takes one line: a command with a line break (or a NUL, which no argument holds) cannot go this way.
        last !== undefined &&
        !/[\n\0]/.test(last)
      );
    },
    async go(spec) {
      if (!warmSandbox.fits(spec)) throw new Error('this sandbox was started for another process: cancel it and start one at once');
      state = 'taken';
      try {
        await fs.symlink(spec.appDir, path.join(scratch, 'lower'));
      } catch (err) {
        state = 'waiting';
        await warmSandbox.cancel();
        throw err;
      }
      feed(child, [...bwrapFeeds(host, spec, path.join(scratch, 'merged')), [GO_FD, `${spec.argv[spec.argv.length - 1]}\n`]]);
      return { child, monitorPid: child.pid, mapsSignals: true };
    },
    async cancel() {
      if (state === 'taken') return;
      state = 'gone';
      // End-of-file on its go pipe ends a sh that waits; the kill ends one still on its way there.
      goPipe.end();
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
      for (const s of [child.stdout, child.stderr]) s?.destroy();
      await exited;
      await removeScratch(scratch);
    },
  };
  return warmSandbox;
}
