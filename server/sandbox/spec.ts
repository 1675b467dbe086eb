// What starting a sandboxed process takes and gives (spawn.ts, warm.ts), apart from how.
import type { ChildProcess } from 'node:child_process';
import type { NodeInstall } from '../../builder/index.js';
import type { SandboxLimits } from './confine.js';

/** An app's own unprivileged identity (only when paas runs as root). */
export interface AppUser {
  uid: number;
  gid: number;
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
