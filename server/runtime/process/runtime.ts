import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { eachLine } from '../../../lib/lines.js';
import type { ToolRef } from '../../../lib/tool-ref.js';
import type { Cgroup, Cgroups } from '../../sandbox/cgroups.js';
import type { SandboxHost } from '../../sandbox/host.js';
import { removeScratch, type SandboxSpec, startSandboxed } from '../../sandbox/spawn.js';
import { allEnded, atMost, DRAIN_MS, exitStatus } from '../exit-status.js';
import { freePort } from '../free-port.js';
import { launcher } from '../launcher.js';
import { listenerUids, processListenPorts } from '../listeners.js';
import { pipeInput, ptyArgv, ptyInput } from './pty.js';
import { groupMembers, hasEnv, terminateGroup } from '../../sandbox/process-groups.js';
import type { DynoSpec, ExitStatus, PrestartedDyno, PrestartSpec, Runtime, RunningDyno } from '../types.js';
import { PrestartedProcess, prestartProcess } from './prestart.js';
import type { AppNetworks } from '../../netns/networks.js';

interface Group {
  pgid: number;
  /** bwrap's monitor: spared by SIGTERM so the app can drain, killed with the rest after the grace. */
  spare?: number;
}

export interface ProcessRuntimeOptions {
  sandbox: SandboxHost;
  /** Where each dyno's scratch layer lives while it runs (only paas can enter it). */
  scratchRoot: string;
  /** Where each dyno's cgroup is made (as root, where the host has cgroups): without, DynoSpec.limits caps only its disk. */
  cgroups?: Cgroups;
  /**
   * Installs (or finds in its cache) an exact Node.js version and returns its home: the builder's
   * installNode, handed in by the wiring, since a runtime knows nothing of builds. Needed for a spec with `node`.
   */
  installNode?: (version: string, log: (line: string) => void) => Promise<string>;
  /**
   * Installs again (or finds) the package managers a slug runs with and returns the tools root they
   * live under: the builder's ensureTools, handed in by the wiring. Needed for a spec with `tools`.
   */
  ensureTools?: (tools: ToolRef[], log: (line: string) => void) => Promise<string>;
  /** A network namespace per app (as root, PAAS_APP_NETWORKS=auto): every dyno of the app joins its app's. */
  networks?: AppNetworks;
}

/**
 * Dynos as local child processes, each in its own sandbox and process group, listening in their
 * app's network namespace (as root, PAAS_APP_NETWORKS=auto), else on the host's network.
 * Procfile commands run under bash, as on Heroku; bash also execs a lone command.
 */
export class ProcessRuntime implements Runtime {
  readonly name = 'process';
  readonly persistent = false;
  /** A group can outlive its leader, so it is kept until stop(). */
  private readonly groups = new Map<string, Group>();
  /** Per app, the ports its running dynos were given: in an app's own network only its dynos can hold one. */
  private readonly ports = new Map<string, Set<number>>();
  /** The ids of dynos prestarted and not yet started or cancelled: their scratch layers are in use too. */
  private readonly waiting = new Set<string>();

  constructor(private readonly opts: ProcessRuntimeOptions) {}

  /** A dyno's scratch layer is named by its id, which `groups` holds until the dyno is stopped. */
  scratchInUse(): ReadonlySet<string> {
    return new Set([...this.groups.keys(), ...this.waiting]);
  }

  /** Sets up a dyno's network, cgroup and sandbox up to its overlay, where the sandbox can wait (prestart.ts). */
  async prestart(spec: PrestartSpec): Promise<PrestartedDyno | undefined> {
    const warm = await prestartProcess(this, this.opts, spec, (id) => this.waiting.delete(id));
    if (warm) this.waiting.add(warm.id);
    return warm;
  }

  /** `prestarted` when it is this runtime's and made for `spec`; otherwise it is cancelled (in the background). */
  private claim(spec: DynoSpec, prestarted: PrestartedDyno | undefined): PrestartedProcess | undefined {
    if (!prestarted) return undefined;
    if (prestarted instanceof PrestartedProcess && prestarted.owner === this && prestarted.fitsDyno(spec)) return prestarted;
    void prestarted.cancel().catch((err: unknown) => console.error(`paas: could not remove a prestarted dyno of ${spec.app}:`, err));
    return undefined;
  }

  /** The slug's Node: the build installed it; a cache emptied since is filled again. */
  private async node(spec: DynoSpec): Promise<{ version: string; home: string } | undefined> {
    if (!spec.node) return undefined;
    if (!this.opts.installNode) throw new Error(`${spec.app} ${spec.name}: its slug runs on Node.js ${spec.node}, but this runtime has no Node cache`);
    return { version: spec.node, home: await this.opts.installNode(spec.node, (l) => spec.onLine('stderr', l.trim())) };
  }

  /** The slug's package managers: the build installed them; a tools dir emptied since is filled again. */
  private async tools(spec: DynoSpec): Promise<{ root: string; dirs: string[] } | undefined> {
    if (!spec.tools?.length) return undefined;
    if (!this.opts.ensureTools) throw new Error(`${spec.app} ${spec.name}: its slug runs with ${spec.tools.map((t) => t.name).join(', ')}, but this runtime has no tools dir`);
    const root = await this.opts.ensureTools(spec.tools, (l) => spec.onLine('stderr', l.trim()));
    return { root, dirs: spec.tools.map((t) => t.dir) };
  }

  async start(spec: DynoSpec, prestarted?: PrestartedDyno): Promise<RunningDyno> {
    const warm = this.claim(spec, prestarted);
    if (spec.command === undefined) throw new Error(`${spec.app} ${spec.name}: the process runtime runs Procfile commands only, not an image's own command`);
    const network = warm ? warm.network : await this.opts.networks?.forApp(spec.app);
    const port = await this.port(spec.app);
    const id = warm?.id ?? randomUUID();
    const scratchDir = warm?.scratchDir ?? path.join(this.opts.scratchRoot, id);
    // The Procfile command is the app's own shell command; no paas value is spliced into it (PORT and
    // the rest arrive through the environment). It goes to the launcher as an argument.
    const argv = [...launcher(spec.profile ?? false), spec.command];
    const [node, tools] = await Promise.all([this.node(spec), this.tools(spec)]).catch(async (err: unknown) => {
      this.ports.get(spec.app)?.delete(port);
      await warm?.cancel();
      throw err;
    });
    const group = warm ? warm.group : spec.limits && this.opts.cgroups?.create(`dyno-${id}`, spec.limits);
    const sandboxSpec: SandboxSpec = {
      appDir: spec.slugDir,
      writes: 'layer',
      scratchDir,
      user: spec.user,
      argv: spec.tty ? ptyArgv(spec.tty, argv) : argv,
      stdin: spec.stdin || spec.tty !== undefined,
      // In its app's network the router comes in on the namespace's address, not its loopback: the
      // built-in static server (builder/static-server.ts) listens on every interface there, as in a container.
      env: { ...spec.env, PORT: String(port), ...(network ? { PAAS_STATIC_HOST: '0.0.0.0' } : {}) },
      pathPrepend: spec.pathPrepend,
      node,
      tools,
      netns: network?.netns,
      limits: spec.limits && { cgroupProcs: group?.procsFiles ?? [], diskBytes: spec.limits.diskBytes },
    };
    if (warm && !warm.fitsSandbox(sandboxSpec)) {
      // It ended on its own, or waits for another process than this one: a fresh start instead.
      this.ports.get(spec.app)?.delete(port);
      await warm.cancel();
      return this.start(spec);
    }
    const sandboxed = await (warm ? warm.go(sandboxSpec) : startSandboxed(this.opts.sandbox, sandboxSpec)).catch(async (err: unknown) => {
      this.ports.get(spec.app)?.delete(port);
      await group?.remove();
      throw err;
    });
    const { child, monitorPid, mapsSignals } = sandboxed;
    const outputEnded = allEnded(child.stdout!, child.stderr!);
    const flow = (on: boolean) => {
      for (const s of [child.stdout!, child.stderr!]) {
        if (on) s.resume();
        else s.pause();
      }
    };
    const ended = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
    const exited = new Promise<ExitStatus>((resolve) => {
      child.on('error', (err) => {
        spec.onLine('stderr', `failed to start: ${err.message}`);
        resolve({ code: null, signal: null });
      });
      child.on('exit', (code, signal) => resolve(exitStatus(code, signal, mapsSignals)));
    }).then(async (status) => {
      // 'exit' can come before the last lines are read, and those are often the error the dyno died
      // of: whoever awaits `exited` (a boot failure report) must have seen them. Output held for a
      // slow reader (flow) is read now: no more than the pipes hold, and then it is all there.
      flow(true);
      await atMost(outputEnded, DRAIN_MS);
      await removeScratch(scratchDir).catch(() => undefined);
      this.ports.get(spec.app)?.delete(port);
      return group ? { ...status, ...(await leaveGroup(group)) } : status;
    });
    const { onOutput } = spec;
    if (onOutput) {
      child.stdout!.on('data', (chunk: Buffer) => onOutput('stdout', chunk));
      child.stderr!.on('data', (chunk: Buffer) => onOutput('stderr', chunk));
    } else {
      eachLine(child.stdout!, (l) => spec.onLine('stdout', l));
      eachLine(child.stderr!, (l) => spec.onLine('stderr', l));
    }
    if (child.pid !== undefined) this.groups.set(id, { pgid: child.pid, spare: monitorPid });
    this.waiting.delete(id);
    // Without app networks apps share the loopback network; only their uids tell their listeners
    // apart. In the app's own network only the app's processes can listen, and its sockets are in
    // that namespace's table (any member's /proc/<pid>/net). No listener at all is not ours either:
    // a squatter that answered the probe may have let go for a moment.
    const user = spec.user;
    const netDir = network && child.pid !== undefined ? `/proc/${child.pid}/net` : '/proc/net';
    const ownsPort = user
      ? () => {
          const uids = listenerUids(port, netDir);
          return uids.length > 0 && uids.every((uid) => uid === user.uid);
        }
      : undefined;
    const input = child.stdin ? (spec.tty ? ptyInput(child.stdin) : { stdin: pipeInput(child.stdin) }) : {};
    // The dyno's processes are its process group: the sockets they hold tell its listeners from others'.
    const pgid = child.pid;
    const listenPorts = pgid === undefined ? undefined : () => processListenPorts(groupMembers(pgid));
    return { id, name: spec.name, host: network?.address ?? '127.0.0.1', port, handle: String(child.pid ?? ''), exited, ended, ownsPort, listenPorts, ...input, ...(onOutput ? { flow } : {}) };
  }

  /**
   * A port for a new dyno: free on the host's loopback (where the dyno listens without app networks)
   * and not given to another running dyno of the app (which shares its network namespace).
   */
  private async port(app: string): Promise<number> {
    const used = this.ports.get(app) ?? new Set<number>();
    this.ports.set(app, used);
    let port = await freePort();
    while (used.has(port)) port = await freePort();
    used.add(port);
    return port;
  }

  async stop(dyno: RunningDyno, graceMs: number): Promise<void> {
    const group = this.groups.get(dyno.id);
    if (group === undefined) return void (await dyno.exited);
    await terminateGroup(group.pgid, graceMs, group.spare);
    await dyno.exited;
    this.groups.delete(dyno.id);
  }

  async reap(stale: { app: string; handle: string | null }[], graceMs: number): Promise<number> {
    // A pid may have been reused since; a group counts as ours only while a member still carries
    // the app name paas gave every dyno of that app.
    const ours = stale
      .map((d) => ({ app: d.app, pgid: Number(d.handle) }))
      .filter(({ app, pgid }) => Number.isInteger(pgid) && pgid > 1 && groupMembers(pgid).some((pid) => hasEnv(pid, 'PAAS_APP_NAME', app)));
    // The leader of a sandboxed group is bwrap's monitor; sparing it lets the app drain first.
    const bwrap = this.opts.sandbox.kind === 'bwrap';
    await Promise.all(ours.map(({ pgid }) => terminateGroup(pgid, graceMs, bwrap ? pgid : undefined)));
    return ours.length;
  }
}

/** Whether the kernel killed the dyno for memory, read before its group (and the count) goes. */
async function leaveGroup(group: Cgroup): Promise<{ outOfMemory?: true }> {
  const outOfMemory = group.outOfMemory();
  await group.remove().catch(() => undefined);
  return outOfMemory ? { outOfMemory } : {};
}
