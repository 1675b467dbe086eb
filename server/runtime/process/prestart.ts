// The process runtime's prestart (Runtime.prestart): a web dyno's sandbox, cgroup and network are
// set up while its slug builds, and wait (sandbox/warm.ts). `start` then goes on from there.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { AppNetworks, JoinedNetwork } from '../../netns/networks.js';
import type { Cgroup, Cgroups } from '../../sandbox/cgroups.js';
import type { SandboxHost } from '../../sandbox/host.js';
import { removeScratch, type Sandboxed, type SandboxSpec } from '../../sandbox/spawn.js';
import { prestartSandboxed, type WarmSandbox } from '../../sandbox/warm.js';
import { launcher } from '../launcher.js';
import type { DynoSpec, PrestartedDyno, PrestartSpec } from '../types.js';

/** What the process runtime needs to prestart a dyno: a subset of its options. */
export interface PrestartOptions {
  sandbox: SandboxHost;
  scratchRoot: string;
  cgroups?: Cgroups;
  networks?: AppNetworks;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** A dyno of the process runtime started ahead of its slug: its id, scratch dir, cgroup, network and waiting sandbox. */
export class PrestartedProcess implements PrestartedDyno {
  private taken = false;
  private cancelled?: Promise<void>;

  constructor(
    /** The runtime that made it: only that one's start takes it. */
    readonly owner: object,
    private readonly spec: PrestartSpec,
    readonly id: string,
    readonly scratchDir: string,
    readonly group: Cgroup | undefined,
    readonly network: JoinedNetwork | undefined,
    private readonly sandbox: WarmSandbox,
    private readonly onGone: (id: string) => void,
  ) {}

  get app(): string {
    return this.spec.app;
  }

  /**
   * Whether the dyno `spec` is the one this was started for, as far as the runtime decides before
   * go: its cgroup's limits, its identity, its launcher. (The sandbox checks the rest: fitsSandbox.)
   */
  fitsDyno(spec: DynoSpec): boolean {
    const want = this.spec;
    return !this.taken && !this.cancelled && spec.app === want.app && (spec.profile ?? false) === (want.profile ?? false) && same(spec.user, want.user) && same(spec.limits, want.limits) && !spec.stdin && !spec.tty;
  }

  /** Whether the sandbox waits for just this process (it may also have ended on its own). */
  fitsSandbox(spec: SandboxSpec): boolean {
    return this.sandbox.fits(spec);
  }

  /** Lets the sandbox go on with `spec`: from here it is a dyno, stopped as any other. */
  go(spec: SandboxSpec): Promise<Sandboxed> {
    this.taken = true;
    return this.sandbox.go(spec);
  }

  cancel(): Promise<void> {
    if (this.taken) return Promise.resolve();
    this.cancelled ??= (async () => {
      try {
        await this.sandbox.cancel();
        await this.group?.remove();
      } finally {
        this.onGone(this.id);
      }
    })();
    return this.cancelled;
  }
}

/**
 * Starts what a dyno of `spec` needs before its slug: its network, its cgroup (of `spec.limits`),
 * and its sandbox up to the overlay; undefined where the sandbox cannot wait (no bubblewrap overlay).
 * `onGone` hears its id once it is cancelled.
 */
export async function prestartProcess(owner: object, opts: PrestartOptions, spec: PrestartSpec, onGone: (id: string) => void): Promise<PrestartedProcess | undefined> {
  const id = randomUUID();
  const scratchDir = path.join(opts.scratchRoot, id);
  const network = await opts.networks?.forApp(spec.app);
  const group = spec.limits && opts.cgroups?.create(`dyno-${id}`, spec.limits);
  try {
    const sandbox = await prestartSandboxed(opts.sandbox, {
      scratchDir,
      user: spec.user,
      netns: network?.netns,
      limits: spec.limits && { cgroupProcs: group?.procsFiles ?? [], diskBytes: spec.limits.diskBytes },
      argvHead: launcher(spec.profile ?? false),
    });
    if (!sandbox) {
      await group?.remove();
      return undefined;
    }
    return new PrestartedProcess(owner, spec, id, scratchDir, group, network, sandbox, onGone);
  } catch (err) {
    await group?.remove().catch(() => undefined);
    await removeScratch(scratchDir).catch(() => undefined);
    throw err;
  }
}
