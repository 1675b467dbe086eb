// The reconciler against a fake Runtime (the contract suite's subject: start, stop, reap): each
// fake dyno is a real HTTP server on a loopback port, so boots, health checks and the route table
// are the real ones; only the process behind them is not started. The store is a real SQLite file.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import type { Slug } from '../../builder/index.js';
import { DeployError } from '../../lib/errors.js';
import { AppLogs } from '../../server/logs/pipeline.js';
import { Reconciler, type ReleaseToRun } from '../../server/dynos/reconciler.js';
import { Routes } from '../../server/dynos/routes.js';
import type { DynoSpec, ExitStatus, RunningDyno, Runtime } from '../../server/runtime/types.js';
import { insertApp } from '../../server/store/apps.js';
import { openStore } from '../../server/store/db.js';
import { listDynos } from '../../server/store/dynos.js';
import { followProcessTypes, setQuantities } from '../../server/store/formation.js';
import { insertRelease } from '../../server/store/releases.js';
import { tempDir } from '../helpers/paas.js';

/** How a fake dyno behaves: the status its /health answers, and whether it exits soon after it listens. */
interface Behaviour {
  health?: number;
  crashAfterMs?: number;
}

interface Live {
  spec: DynoSpec;
  dyno: RunningDyno;
  exit: (status: ExitStatus) => void;
}

class FakeRuntime implements Runtime {
  readonly name = 'fake';
  readonly persistent = false;
  readonly live = new Map<string, Live>();
  starts = 0;

  constructor(private readonly behaviour: (spec: DynoSpec) => Behaviour = () => ({})) {}

  async start(spec: DynoSpec): Promise<RunningDyno> {
    this.starts++;
    const how = this.behaviour(spec);
    const server = http.createServer((req, res) => {
      res.statusCode = req.url === '/health' ? (how.health ?? 200) : 200;
      res.end(`${spec.name} of v${spec.release}`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    let exit!: (status: ExitStatus) => void;
    const exited = new Promise<ExitStatus>((resolve) => (exit = resolve));
    const id = randomUUID();
    const dyno: RunningDyno = { id, name: spec.name, host: '127.0.0.1', port: (server.address() as AddressInfo).port, handle: id, exited, ownsPort: () => true };
    void exited.then(() => {
      this.live.delete(id);
      server.closeAllConnections();
      server.close();
    });
    this.live.set(id, { spec, dyno, exit });
    if (how.crashAfterMs !== undefined) setTimeout(() => exit({ code: 3, signal: null }), how.crashAfterMs);
    return dyno;
  }

  async stop(dyno: RunningDyno): Promise<void> {
    this.live.get(dyno.id)?.exit({ code: null, signal: 'SIGTERM' });
    await dyno.exited;
  }

  async reap(): Promise<number> {
    return 0;
  }

  /** The running dyno named `name` (web.1) exits on its own. */
  crash(name: string): void {
    const found = [...this.live.values()].find((l) => l.spec.name === name);
    if (!found) throw new Error(`no running ${name}`);
    found.exit({ code: 1, signal: null });
  }

  /** Every running dyno as `web.1@v2`, sorted: old and new dynos of one slot both show. */
  versions(): string[] {
    return [...this.live.values()].map((l) => `${l.spec.name}@v${l.spec.release}`).sort();
  }

  /** Which release each running dyno is on, by name: `{ 'web.1': 2 }`. */
  running(): Record<string, number | undefined> {
    return Object.fromEntries([...this.live.values()].map((l) => [l.spec.name, l.spec.release]));
  }
}

const HEALTH = [{ type: 'startup' as const, path: '/health', attempts: 1, timeout: 1, wait: 0 }];

function setup(opts: { settleMs?: number; behaviour?: (spec: DynoSpec) => Behaviour; web?: number } = {}) {
  const dir = tempDir('paas-reconciler-');
  const db = openStore(path.join(dir, 'paas.db'));
  const app = insertApp(db, 'demo', new Date().toISOString(), { first: 60000, last: 60010 });
  if (opts.web !== undefined) {
    followProcessTypes(db, app.id, { web: 'node server.js' });
    setQuantities(db, app.id, { web: opts.web });
  }
  const routes = new Routes();
  routes.addApp('demo');
  const runtime = new FakeRuntime(opts.behaviour);
  const reconciler = new Reconciler({ runtime, db, routes, logs: new AppLogs(), bootTimeoutMs: 2000, stopGraceMs: 100, settleMs: opts.settleMs ?? 0, baseEnv: {} });
  onTestFinished(async () => {
    await reconciler.close();
    db.close();
  });
  const release = (healthchecks = false): ReleaseToRun => {
    const row = insertRelease(db, { app_id: app.id, build_id: null, status: 'pending', description: 'test', created_at: new Date().toISOString(), config: '{}', created_by: 'test' });
    const slug: Slug = { dir, buildpack: 'test', processTypes: { web: 'node server.js' }, pathPrepend: [], ...(healthchecks ? { healthchecks: { web: HEALTH } } : {}) };
    return { app: 'demo', appId: app.id, releaseId: row.id, version: row.version, slug, env: {} };
  };
  /** The route table's web dynos for the app, by name, each with the release of the dyno behind it. */
  const routed = () => Object.fromEntries((routes.get('demo')?.targets ?? []).map((t) => [t.dyno, [...runtime.live.values()].find((l) => l.dyno.port === t.port)?.spec.release]));
  const rows = () => listDynos(db, app.id).map((d) => `${d.process_type}.${d.number}@v${d.version}:${d.state}`);
  /** Sets the app's quantity of web dynos in the store, as `ps:scale` does before it pokes the reconciler. */
  const scaleTo = (web: number) => setQuantities(db, app.id, { web });
  return { runtime, reconciler, release, routed, rows, scaleTo };
}

const quiet = () => undefined;

describe('Reconciler', () => {
  it('rolls out a release: the new web dyno is routed, the old one drains', async () => {
    const { runtime, reconciler, release, routed, rows } = setup();
    await reconciler.deploy(release(), quiet);
    expect(routed()).toEqual({ 'web.1': 1 });
    await reconciler.deploy(release(), quiet);
    expect(routed()).toEqual({ 'web.1': 2 });
    await vi.waitFor(() => expect(runtime.running()).toEqual({ 'web.1': 2 }));
    expect(rows()).toEqual(['web.1@v2:up']);
  });

  it('keeps the old release routed when a new dyno fails its health check', async () => {
    const { runtime, reconciler, release, routed, rows } = setup({ behaviour: (spec) => ({ health: spec.release === 2 ? 500 : 200 }) });
    await reconciler.deploy(release(true), quiet);
    const failed = reconciler.deploy(release(true), quiet);
    await expect(failed).rejects.toThrow(DeployError);
    await expect(failed).rejects.toThrow('web.1 failed its health check: GET /health answered 500, 1 time; the previous release keeps serving.');
    expect(routed()).toEqual({ 'web.1': 1 });
    expect(runtime.running()).toEqual({ 'web.1': 1 });
    expect(rows()).toEqual(['web.1@v1:up']);
  });

  it('returns once the new dyno is routed, and routes back to the old release when it dies in the settle window', async () => {
    const { runtime, reconciler, release, routed, rows } = setup({ settleMs: 1000, behaviour: (spec) => (spec.release === 2 ? { crashAfterMs: 100 } : {}) });
    await reconciler.deploy(release(), quiet, undefined, { settle: false });
    const reverts: [string, number][] = [];
    // The deploy does not wait out the window: the new dyno serves, the old one stands by.
    await reconciler.deploy(release(), quiet, undefined, { onRevert: (why, back) => reverts.push([why, back.version]) });
    expect(routed()).toEqual({ 'web.1': 2 });
    expect(runtime.versions()).toEqual(['web.1@v1', 'web.1@v2']);
    await vi.waitFor(() => expect(reverts).toHaveLength(1));
    expect(reverts[0][0]).toContain('web.1 exited with code 3 within 1 s of going live, so v1 serves again.');
    expect(reverts[0][1]).toBe(1);
    expect(routed()).toEqual({ 'web.1': 1 });
    await vi.waitFor(() => expect(runtime.versions()).toEqual(['web.1@v1']));
    await vi.waitFor(() => expect(rows()).toEqual(['web.1@v1:up']));
    // v1 is what the app runs again: its dyno's crash restarts it on v1.
    runtime.crash('web.1');
    await vi.waitFor(() => expect(runtime.starts).toBe(3));
    await vi.waitFor(() => expect(routed()).toEqual({ 'web.1': 1 }));
  });

  it('keeps a release whose new dynos outlive the settle window, or that the next change follows, and drains the old ones then', async () => {
    const { runtime, reconciler, release, routed, rows } = setup({ settleMs: 300 });
    await reconciler.deploy(release(), quiet);
    const reverts: string[] = [];
    const onRevert = (why: string) => void reverts.push(why);
    await reconciler.deploy(release(), quiet, undefined, { onRevert });
    expect(runtime.versions()).toEqual(['web.1@v1', 'web.1@v2']);
    await vi.waitFor(() => expect(runtime.versions()).toEqual(['web.1@v2']));
    // Past the window a crash is a crash: the dyno restarts on its own release.
    runtime.crash('web.1');
    await vi.waitFor(() => expect(runtime.starts).toBe(3));
    await vi.waitFor(() => expect(routed()).toEqual({ 'web.1': 2 }));
    // The next change within the window (here a deploy) keeps the release on trial; its old dyno drains.
    await reconciler.deploy(release(), quiet, undefined, { onRevert });
    await reconciler.deploy(release(), quiet, undefined, { onRevert });
    expect(routed()).toEqual({ 'web.1': 4 });
    await vi.waitFor(() => expect(runtime.versions()).toEqual(['web.1@v3', 'web.1@v4']));
    // v3, kept when v4 came (its own old dyno drained then), stands by through v4's window, then drains.
    await vi.waitFor(() => expect(runtime.versions()).toEqual(['web.1@v4']));
    expect(reverts).toEqual([]);
    await vi.waitFor(() => expect(rows()).toEqual(['web.1@v4:up']));
  });

  it('restarts a crashed dyno at once, and after a backoff when it crashes again soon', async () => {
    const { runtime, reconciler, release, routed, rows } = setup();
    await reconciler.deploy(release(), quiet);
    runtime.crash('web.1');
    // The first crash of a streak restarts at once.
    await vi.waitFor(() => expect(runtime.starts).toBe(2));
    await vi.waitFor(() => expect(routed()).toEqual({ 'web.1': 1 }));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      runtime.crash('web.1');
      await vi.advanceTimersByTimeAsync(0);
      expect(routed()).toEqual({});
      expect(rows()).toEqual(['web.1@v1:crashed']);
      // The second crash in a row waits 1 s.
      await vi.advanceTimersByTimeAsync(999);
      expect(runtime.starts).toBe(2);
      await vi.advanceTimersByTimeAsync(1);
    } finally {
      vi.useRealTimers();
    }
    await vi.waitFor(() => expect(routed()).toEqual({ 'web.1': 1 }));
    expect(runtime.starts).toBe(3);
    expect(rows()).toEqual(['web.1@v1:up']);
  });

  it('scales down: the surplus dynos leave the routes and stop, the rest keep serving', async () => {
    const { runtime, reconciler, release, routed, rows, scaleTo } = setup({ web: 3 });
    await reconciler.deploy(release(), quiet);
    expect(routed()).toEqual({ 'web.1': 1, 'web.2': 1, 'web.3': 1 });
    scaleTo(1);
    await reconciler.scale('demo');
    expect(routed()).toEqual({ 'web.1': 1 });
    expect(runtime.running()).toEqual({ 'web.1': 1 });
    expect(rows()).toEqual(['web.1@v1:up']);
  });
});
