// Crash revival: a dyno that exits on its own is restarted after its backoff, unless it was
// replaced, scaled away or left on an older release meanwhile.
import { restartDelay, STABLE_AFTER_MS } from '../../lib/backoff.js';
import { deleteDyno, setDynoRestarts, setDynoState } from '../store/dynos.js';
import { boot, publish } from './dyno.js';
import type { Ctx, Dyno } from './types.js';

/** Restarts a dyno that exits on its own, after its backoff, unless it was replaced meanwhile. */
export function watch(ctx: Ctx, d: Dyno): void {
  // Out of the routes the moment its process is gone: on a shared loopback another app may bind the
  // port as soon as it is free, and must get none of this dyno's requests.
  void d.running.ended?.then(() => {
    if (d.retired || !d.routed) return;
    d.routed = false;
    publish(ctx, d.release.app);
  });
  void d.running.exited.then((status) => {
    if (d.retired) return;
    const app = d.release.app;
    d.state = 'crashed';
    d.routed = false;
    publish(ctx, app);
    // A limit of the runtime's own that stopped it (Docker's watch on its writes) says so first.
    if (status.reason) ctx.deps.logs.append(app, `paas[${d.name}]`, status.reason);
    setDynoState(ctx.deps.db, d.running.id, 'crashed');
    // Reap whatever the dyno's shell left behind, so nothing keeps holding its port.
    void ctx.deps.runtime.stop(d.running, 0);
    // Heroku's words for a dyno its memory limit killed.
    if (status.outOfMemory) ctx.deps.logs.append(app, `paas[${d.name}]`, 'Error R15 (Memory quota vastly exceeded)');
    ctx.deps.logs.append(app, `paas[${d.name}]`, `Process exited (${status.signal ?? `code ${status.code}`}); state changed from up to crashed`);
    const streak = Date.now() - d.startedAt > STABLE_AFTER_MS ? 1 : d.streak + 1;
    scheduleRevive(ctx, d, streak);
  });
}

/** Starts the dyno again after the backoff of its `streak`-th crash in a row; a failed start schedules the next. */
export function scheduleRevive(ctx: Ctx, d: Dyno, streak: number): void {
  d.streak = streak;
  const revive = () =>
    ctx.serial(d.release.app, async () => {
      d.reviveTimer = undefined;
      const s = ctx.state(d.release.app);
      // Replaced, scaled away or on an older release by now: not ours to bring back.
      if (d.retired || !s.dynos.includes(d) || s.release !== d.release) return;
      try {
        const fresh = await boot(ctx, d.release, d.type, d.index, () => undefined, d.restarts + 1);
        fresh.streak = d.streak;
        fresh.routed = fresh.type === 'web';
        d.retired = true;
        deleteDyno(ctx.deps.db, d.running.id);
        s.dynos = s.dynos.map((x) => (x === d ? fresh : x));
        publish(ctx, d.release.app);
        watch(ctx, fresh);
      } catch {
        d.restarts += 1;
        setDynoRestarts(ctx.deps.db, d.running.id, d.restarts);
        scheduleRevive(ctx, d, d.streak + 1);
      }
    });
  // A timer callback's rejection would be unhandled and end the server: catch it here, with context.
  d.reviveTimer = setTimeout(() => {
    revive().catch((err: unknown) => console.error(`paas: restarting ${d.name} of ${d.release.app} failed:`, err));
  }, restartDelay(streak));
  d.reviveTimer.unref();
}
