import { type ChildProcess, fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { RouterConfig } from './config.js';
import type { WorkerReport, WorkerStart } from './worker.js';

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));
/** A worker gets this long to finish its requests after SIGTERM (its own bound is 10 s) before SIGKILL. */
const KILL_AFTER_MS = 12_000;
const MIN_RESTART_MS = 100;
const MAX_RESTART_MS = 5000;
/** A worker that ran this long died of something new: its next restart starts from the shortest delay. */
const STABLE_MS = 30_000;

/** Where a fleet's workers listen: HTTP and HTTPS. */
export interface FleetAddresses {
  address: net.AddressInfo;
  tlsAddress: net.AddressInfo;
}

interface Slot {
  child: ChildProcess;
  delay: number;
  startedAt: number;
  timer?: NodeJS.Timeout;
}

/** What a worker's environment holds: no secret (the token comes over IPC) and nothing else of ours. */
function workerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'LANG', 'TZ', 'TMPDIR', 'NODE_OPTIONS']) if (process.env[name]) env[name] = process.env[name];
  return env;
}

function forkWorker(): ChildProcess {
  return fork(WORKER, [], { env: workerEnv(), stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
}

/** Sends `child` its start and resolves with its address once it listens; rejects, with its error code, if it cannot. */
function startWorker(child: ChildProcess, start: WorkerStart): Promise<FleetAddresses> {
  return new Promise((resolve, reject) => {
    child.on('message', (msg: WorkerReport) => {
      if (msg.type === 'listening') resolve({ address: msg.address, tlsAddress: msg.tlsAddress });
      else if (msg.type === 'failed') reject(Object.assign(new Error(msg.message), { code: msg.code, port: msg.port ?? start.port }));
    });
    child.once('exit', (code, signal) => reject(new Error(`router worker exited (${signal ?? `code ${code}`}) before listening`)));
    child.once('error', reject);
    child.send(start);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Holds a free port (SO_REUSEPORT) while the workers join it, so they can all bind at once. */
/**
 * Binds the port once without SO_REUSEPORT, and lets it go: with the option, the workers would
 * quietly share the port with whatever already listens there under this user (another paas router,
 * a second server), each getting part of the traffic. Without it, such a port is EADDRINUSE.
 */
function refuseIfTaken(port: number, host: string, setting: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => reject(Object.assign(new Error(`Port ${port} is in use. Stop what runs there, or set ${setting}.`), { code: err.code, port })));
    probe.listen({ port, host }, () => probe.close(() => resolve()));
  });
}

function holdFreePort(host: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const holder = net.createServer((socket) => socket.destroy());
    holder.once('error', reject);
    holder.listen({ port: 0, host, reusePort: true }, () => resolve(holder));
  });
}

/**
 * Router worker processes sharing one listening port: the kernel spreads connections over them
 * (SO_REUSEPORT). They are forked at once, so their start-up overlaps whatever the caller does
 * before `start`; a worker that dies later is restarted with backoff.
 */
export class RouterFleet {
  private readonly slots: Slot[];
  private stopping = false;
  private config: Omit<RouterConfig, 'workers'> | undefined;

  constructor(
    workers: number,
    private readonly log: (line: string) => void = console.log,
  ) {
    this.slots = Array.from({ length: workers }, () => ({ child: forkWorker(), delay: MIN_RESTART_MS, startedAt: Date.now() }));
    // Until start, the workers must not keep this process alive: a start-up that fails before then
    // (a bad data dir, a refused store) ends the process, and they go with its IPC channel.
    for (const { child } of this.slots) {
      child.unref();
      child.channel?.unref();
    }
  }

  /** Starts every worker on `config.port` and `config.tlsPort` (0: a free one) and resolves with where they listen, once all do. */
  async start(config: Omit<RouterConfig, 'workers'>): Promise<FleetAddresses> {
    if (config.port !== 0) await refuseIfTaken(config.port, config.host, 'PAAS_ROUTER_PORT');
    if (config.tlsPort !== 0) await refuseIfTaken(config.tlsPort, config.host, 'PAAS_ROUTER_TLS_PORT');
    const holder = config.port === 0 ? await holdFreePort(config.host) : undefined;
    const tlsHolder = config.tlsPort === 0 ? await holdFreePort(config.host) : undefined;
    const portOf = (held: net.Server | undefined, port: number) => (held ? (held.address() as net.AddressInfo).port : port);
    this.config = { ...config, port: portOf(holder, config.port), tlsPort: portOf(tlsHolder, config.tlsPort) };
    try {
      const bound = await Promise.all(this.slots.map((slot, i) => this.run(slot, i)));
      return bound[0];
    } catch (err) {
      await this.stop();
      throw err;
    } finally {
      holder?.close();
      tlsHolder?.close();
    }
  }

  /** SIGTERMs every worker and resolves once all have exited (they finish requests in flight first). */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const slot of this.slots) clearTimeout(slot.timer);
    await Promise.all(this.slots.map((slot) => stopChild(slot.child)));
  }

  private run(slot: Slot, i: number): Promise<FleetAddresses> {
    const child = slot.child;
    child.ref();
    child.channel?.ref();
    child.once('exit', (code, signal) => {
      if (this.stopping || slot.child !== child) return;
      slot.delay = Date.now() - slot.startedAt > STABLE_MS ? MIN_RESTART_MS : Math.min(MAX_RESTART_MS, slot.delay * 2);
      this.log(`paas router: worker ${i + 1} exited (${signal ?? `code ${code}`}); restarting it in ${slot.delay} ms`);
      slot.timer = setTimeout(() => {
        slot.child = forkWorker();
        slot.startedAt = Date.now();
        this.run(slot, i).catch((err: Error) => this.log(`paas router: worker ${i + 1} could not restart: ${err.message}`));
      }, slot.delay);
    });
    // One worker reports the route stream's state, so a change prints once, not once per worker.
    return startWorker(child, { type: 'start', config: { ...this.config!, workers: this.slots.length }, port: this.config!.port, tlsPort: this.config!.tlsPort, say: i === 0 });
  }
}

/** Forks and starts `config.workers` router workers; resolves with the fleet once all listen. */
export async function startFleet(config: RouterConfig, log?: (line: string) => void): Promise<{ fleet: RouterFleet } & FleetAddresses> {
  const fleet = new RouterFleet(config.workers, log);
  return { fleet, ...(await fleet.start(config)) };
}
