import type { Deps } from './deps.js';
import { ConflictError, InvalidParamsError, NotFoundError, PaasError } from '../../lib/errors.js';
import { listDynos } from '../store/dynos.js';
import { findBuild } from '../store/releases.js';
import { type Formation, getFormation, setQuantities } from '../store/formation.js';
import { DeployError } from '../../lib/errors.js';
import { currentRelease, requireApp } from './queries.js';
import { shownCommand } from '../../lib/shown-command.js';

/** One process type of the formation as the API shows it. */
export interface FormationView {
  type: string;
  quantity: number;
  command: string;
}

/** A dyno as the API shows it; `name`, `type`, `state`, `release`, `started_at` and `restarts` are pinned. */
export interface DynoView {
  name: string;
  type: string;
  state: string;
  release: number;
  started_at: string;
  restarts: number;
  command: string;
}

/** A requested change: an absolute quantity (3) or a relative one ("+1", "-1"). */
export interface ScaleUpdate {
  type: string;
  quantity: number | string;
}

/** The process commands of the app's current release (empty before its first push). */
function currentCommands(app: ReturnType<typeof requireApp>, deps: Deps): Record<string, string> {
  const release = currentRelease(app, deps);
  const build = release?.build_id ? findBuild(deps.db, release.build_id) : undefined;
  const types = build ? (JSON.parse(build.process_types) as Record<string, string>) : {};
  return Object.fromEntries(Object.entries(types).map(([type, command]) => [type, shownCommand(command)]));
}

export function viewFormation(params: { app: string }, deps: Deps): FormationView[] {
  const app = requireApp(deps, params.app);
  const commands = currentCommands(app, deps);
  return Object.entries(getFormation(deps.db, app.id)).map(([type, quantity]) => ({ type, quantity, command: commands[type] ?? '' }));
}

export function viewDynos(params: { app: string }, deps: Deps): DynoView[] {
  const app = requireApp(deps, params.app);
  const commands = currentCommands(app, deps);
  // Up but out of the routes: the previous release's web dynos while the new one is on trial.
  const standby = deps.runner.standingBy(app.name);
  return listDynos(deps.db, app.id).map((d) => ({
    name: `${d.process_type}.${d.number}`,
    type: d.process_type,
    state: standby.has(d.id) ? 'standby' : d.state,
    release: d.version,
    started_at: d.started_at,
    restarts: d.restarts,
    command: deps.runner.oneOffCommand(d.id) ?? commands[d.process_type] ?? '',
  }));
}

/** The new quantities, or a 422 that says what is wrong with the request and what would be right. */
function validate(updates: unknown, current: Formation, max: number, appName: string): Formation {
  if (!Array.isArray(updates) || updates.length === 0) {
    throw new InvalidParamsError('Send {"updates": [{"type": "web", "quantity": 2}]}: at least one process type and its quantity.');
  }
  const known = Object.keys(current);
  const next: Formation = Object.create(null) as Formation;
  for (const u of updates as Partial<ScaleUpdate>[]) {
    const type = String(u?.type ?? '');
    if (type === 'release') throw new InvalidParamsError('`release` is the release phase, which runs once per release; it cannot be scaled.');
    if (!Object.hasOwn(current, type)) {
      const list = known.length ? `Its process types are: ${known.join(', ')}.` : 'It has none yet: push code with a Procfile or a web process first.';
      throw new InvalidParamsError(`${appName} has no process type ${JSON.stringify(type)}. ${list}`);
    }
    // A number is a quantity; only a string may be a change ("+1", "-1").
    if (typeof u.quantity === 'number' && u.quantity < 0) throw new InvalidParamsError(`${type} cannot go below 0 dynos.`);
    const raw = String(u.quantity ?? '');
    const m = /^([+-]?)(\d{1,6})$/.exec(raw);
    if (!m) throw new InvalidParamsError(`${JSON.stringify(raw)} is not a quantity for ${type}: use a whole number (web=2) or a change (web+1, web-1).`);
    const base = next[type] ?? current[type];
    const quantity = m[1] === '+' ? base + Number(m[2]) : m[1] === '-' ? base - Number(m[2]) : Number(m[2]);
    if (quantity < 0) throw new InvalidParamsError(`${type} cannot go below 0 dynos (it has ${base}).`);
    if (quantity > max) throw new InvalidParamsError(`${type}=${quantity} is more than the ${max} dynos a process type may have (PAAS_MAX_DYNOS_PER_TYPE).`);
    next[type] = quantity;
  }
  return next;
}

/**
 * Changes the formation and brings the running dynos to it. It waits its turn behind deploys and
 * config changes of the app, and answers once the new dynos run (web ones healthy and routed).
 */
export async function scaleFormation(params: { app: string; updates: unknown }, deps: Deps): Promise<FormationView[]> {
  const app = requireApp(deps, params.app);
  const unlock = await deps.locks.acquire(app.name, 'a scale');
  const before = getFormation(deps.db, app.id);
  try {
    const next = validate(params.updates, before, deps.config.maxDynosPerType, app.name);
    setQuantities(deps.db, app.id, next);
    await deps.runner.scale(app.name);
    deps.logs.append(app.name, 'paas[api]', `Scaled to ${Object.entries(next).map(([type, n]) => `${type}@${n}`).join(' ')}`);
  } catch (err) {
    if (!(err instanceof DeployError)) throw err;
    // All or nothing: the formation goes back to what it was, and so do the dynos.
    setQuantities(deps.db, app.id, before);
    await deps.runner.scale(app.name).catch(() => undefined);
    throw new PaasError('scale_failed', 422, `A new dyno did not start, so the formation is unchanged: ${err.message}`);
  } finally {
    unlock();
  }
  return viewFormation(params, deps);
}

/** Restarts all dynos, a type, or one dyno (`target`); web dynos one by one with no dropped request. */
export async function restartDynos(params: { app: string; target?: string }, deps: Deps): Promise<void> {
  const app = requireApp(deps, params.app);
  try {
    const found = await deps.runner.restart(app.name, params.target);
    if (!found && params.target) throw new NotFoundError(`${app.name} has no dyno or process type ${JSON.stringify(params.target)} running. Run \`paas ps\` to see its dynos.`);
    if (!found) throw new ConflictError('no_dynos', `${app.name} has no dynos running to restart.`);
    deps.logs.append(app.name, 'paas[api]', `Restarted ${params.target ?? 'all dynos'}`);
  } catch (err) {
    if (err instanceof DeployError) throw new PaasError('restart_failed', 422, `A restarted dyno did not start: ${err.message}`);
    throw err;
  }
}

/** Stops one dyno; the formation still wants it, so a fresh one starts in its place. */
export async function stopDyno(params: { app: string; dyno: string }, deps: Deps): Promise<void> {
  const app = requireApp(deps, params.app);
  if (!/^[A-Za-z0-9_-]{1,63}\.\d{1,6}$/.test(params.dyno)) throw new InvalidParamsError(`${JSON.stringify(params.dyno)} is not a dyno name such as web.1.`);
  try {
    if (!(await deps.runner.stopDyno(app.name, params.dyno))) throw new NotFoundError(`${app.name} has no dyno ${params.dyno}. Run \`paas ps\` to see its dynos.`);
  } catch (err) {
    if (err instanceof DeployError) throw new PaasError('restart_failed', 422, `${params.dyno} stopped, but its replacement did not start: ${err.message}`);
    throw err;
  }
}
