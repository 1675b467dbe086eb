import type { Deps } from './deps.js';
import { ConflictError, InvalidParamsError, PaasError } from '../../lib/errors.js';
import { toRun } from './releases.js';
import type { DynoSpec, RunningDyno, TtySize } from '../runtime/types.js';
import { listDynos } from '../store/dynos.js';
import { currentRelease, requireApp } from './queries.js';

/** A `paas run`, checked: its words, the env it adds, a terminal, and its time limit. */
export interface RunRequest {
  app: string;
  argv: string[];
  env: Record<string, string>;
  tty?: TtySize;
  /** Stopped after this long; undefined: never (an attached run ends with its client). */
  timeoutMs?: number;
}

/** A one-off dyno that runs. */
export interface OneOff {
  name: string;
  command: string;
  release: number;
  dyno: RunningDyno;
  /** Stops it (once, however often called) and forgets it. */
  stop(): Promise<void>;
}

/** A detached run's time limit unless it names one: an hour, as on Heroku. */
export const DETACHED_TIMEOUT_S = 3600;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The longest a run may be given: a day. */
const MAX_TIMEOUT_S = 86_400;

/** Checks what a client asked to run; errors say what to change. */
export function runRequest(app: string, input: { argv: unknown; env: unknown; tty?: unknown; timeout?: unknown }): RunRequest {
  const { argv, env, tty, timeout } = input;
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string') || argv[0] === '') {
    throw new InvalidParamsError('Give the command to run, e.g. `paas run bash` or `paas run node migrate.js`.');
  }
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries((env ?? {}) as Record<string, unknown>)) {
    if (!ENV_NAME.test(k) || typeof v !== 'string') throw new InvalidParamsError(`Invalid -e ${JSON.stringify(k)}: use -e KEY=VALUE, KEY of letters, digits and _.`);
    vars[k] = v;
  }
  const size = tty as TtySize | undefined;
  const inRange = (n: unknown) => Number.isInteger(n) && (n as number) > 0 && (n as number) <= 1000;
  if (size !== undefined && !(inRange(size.rows) && inRange(size.cols))) throw new InvalidParamsError('A terminal size is rows and columns, each 1 to 1000.');
  const seconds = timeout === undefined ? undefined : Number(timeout);
  if (seconds !== undefined && !(Number.isInteger(seconds) && seconds > 0 && seconds <= MAX_TIMEOUT_S)) {
    throw new InvalidParamsError(`--timeout is whole seconds, 1 to ${MAX_TIMEOUT_S}.`);
  }
  return { app, argv, env: vars, tty: size, timeoutMs: seconds === undefined ? undefined : seconds * 1000 };
}

/** A word as the shell reads it back unchanged: plain words as they are, others in single quotes. */
function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The shell command a run's words make, run by the dyno's bash as Procfile commands are: one word is
 * a command line as typed (`paas run 'echo $HOME | wc -c'`); several keep their exact words, quoted.
 */
export function shellCommand(argv: string[]): string {
  return argv.length === 1 ? argv[0] : argv.map(quote).join(' ');
}

/**
 * What a run runs: when its first word names a process type of the release (`paas run console`),
 * that type's command with the other words appended, as Dokku does; else its words as typed. A
 * type whose command is an image's own (a Dockerfile's CMD) has no shell command to run.
 */
export function runCommand(argv: string[], release: { processTypes: Record<string, string>; imageCommand?: string[] }): string {
  const isType = (word: string) => Object.hasOwn(release.processTypes, word) && !release.imageCommand?.includes(word);
  if (argv.length > 1) return isType(argv[0]) ? [release.processTypes[argv[0]], ...argv.slice(1).map(quote)].join(' ') : shellCommand(argv);
  // One word is a command line as typed: its first word may be a type, the rest follows it as typed.
  const line = /^([\w.-]+)(\s.*)?$/s.exec(argv[0]);
  return line && isType(line[1]) ? `${release.processTypes[line[1]]}${line[2] ?? ''}` : argv[0];
}

/** Starts and stops one-off dynos (`paas run`), numbered run.1, run.2, … per app. */
export class OneOffs {
  private readonly last = new Map<number, number>();

  /**
   * Starts run.N of the app's current release and config (plus the request's env). Attached
   * (`onOutput`), it reads stdin and its output goes there; detached, its lines go to the logs.
   */
  async start(req: RunRequest, deps: Pick<Deps, 'db' | 'runner' | 'logs' | 'builder' | 'addons'>, onOutput?: DynoSpec['onOutput']): Promise<OneOff> {
    const app = requireApp(deps, req.app);
    const current = currentRelease(app, deps);
    const release = current && (await toRun(app, current, deps));
    if (!release) throw new ConflictError('no_release', `${app.name} has no release to run a command in yet. Push code first: git push paas main`);
    const used = listDynos(deps.db, app.id).filter((d) => d.process_type === 'run').map((d) => d.number);
    const index = Math.max(this.last.get(app.id) ?? 0, ...used) + 1;
    this.last.set(app.id, index);
    const name = `run.${index}`;
    const command = runCommand(req.argv, release.slug);
    const log = (line: string) => deps.logs.append(app.name, `paas[${name}]`, line);
    log(`Starting process with command \`${command}\`${onOutput ? '' : ' (detached)'}`);
    const dyno = await deps.runner.startOneOff(release, { index, command, env: req.env, stdin: onOutput !== undefined, tty: req.tty, onOutput }).catch((err: unknown) => {
      // The reconciler's DeployError already says which dyno and why; here it is the client's answer.
      log(`Could not start: ${(err as Error).message}`);
      throw new PaasError('run_failed', 500, (err as Error).message);
    });
    let stopping: Promise<void> | undefined;
    // Whoever asks first stops it; a failure is logged, never left to end the server unhandled.
    const stop = () => (stopping ??= deps.runner.stopOneOff(dyno).catch((err: unknown) => log(`Could not stop the process: ${(err as Error).message}`)));
    const timer = req.timeoutMs === undefined ? undefined : setTimeout(() => {
      log(`Stopping process: it ran for its time limit of ${req.timeoutMs! / 1000} s`);
      void stop();
    }, req.timeoutMs);
    timer?.unref();
    void dyno.exited.then((status) => {
      clearTimeout(timer);
      if (status.outOfMemory) log('Error R15 (Memory quota vastly exceeded)');
      if (status.reason) log(status.reason);
      log(`Process exited with ${status.signal ? `signal ${status.signal}` : `status ${status.code}`}`);
      // Reaps what the command left running, and the row.
      return stop();
    });
    return { name, command, release: release.version, dyno, stop };
  }
}
