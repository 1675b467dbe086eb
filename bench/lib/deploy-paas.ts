// bench:deploy's paas side: a server on one runtime, apps on it, and the four timed operations (a
// code-only push, `releases:rollback`, `config:set`), each timed from its start to (a) the command
// returning (what the user waits for) and (b) the router first answering with the new state
// (polled every 10 ms while the command runs: the new state answers before the command returns,
// while it waits out the settle window).
import { connectDocker, instanceId } from '../../server/docker/engine.js';
import { dockerTestEnv, removeInstance } from '../../test/helpers/docker.js';
import { cli, commitFiles, createApp, gitRepo, gitUrl, type Paas, type Result, sh, startPaas, viaRouter } from '../../test/helpers/paas.js';
import { type AppState, type Files, serves } from './deploy-apps.js';
import { LIMIT_MS, pollUntil } from './deploy-floor.js';

export type Runtime = 'process' | 'docker';

/** One operation's times, ms from its start. */
export interface Timing {
  returned: number;
  served: number;
  /** Whether the first request sent once the command returned got the new state ("serving by then"). */
  atReturn: boolean;
}

/** An app on the server, deployed once, that knows which state it serves now. */
export interface PaasApp {
  state: AppState;
  /** Commits `change` (untimed), then times `git push` of it; `code` is the marker it serves. */
  push(change: Files, code: string): Promise<Timing>;
  /** Times `paas releases:rollback` (to the previous release, whose state is `previous`). */
  rollback(previous: AppState): Promise<Timing>;
  /** Times `paas config:set BENCH_VALUE=value`. */
  configSet(value: string): Promise<Timing>;
}

export interface PaasRun {
  paas: Paas;
  /** Creates `name`, pushes `files` (untimed) and waits until they serve `code`. */
  app(name: string, files: Files, code: string): Promise<PaasApp>;
  stop(): Promise<void>;
}

/**
 * Starts `command` and times it: when it returns, and when the router first answers `app` with
 * `want`. A command that fails, or does not return within LIMIT_MS, is an error with its output.
 */
async function timed(paas: Paas, app: string, what: string, want: AppState, command: () => Promise<Result>): Promise<Timing> {
  const t0 = performance.now();
  let returned: number | undefined;
  let result: Result | undefined;
  const done = command().then((r) => {
    returned = performance.now() - t0;
    result = r;
  });
  const failed = () => new Error(`${what} of ${app} failed (exit ${result?.code}):\n${result?.stderr}${result?.stdout}`);
  const served = await pollUntil(t0, `${what}: ${app} did not serve ${JSON.stringify(want)}`, async () => {
    if (result && result.code !== 0) throw failed();
    const res = await viaRouter(paas, `${app}.localhost`).catch(() => undefined);
    return res?.status === 200 && serves(res.body, want);
  });
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} of ${app} did not return within ${LIMIT_MS / 1000} s`)), LIMIT_MS)));
  await Promise.race([done, late]).finally(() => clearTimeout(timer));
  if (result!.code !== 0) throw failed();
  // The poll above may see the new state a few ms after the return only because it polls every
  // 10 ms: what counts is what a request sent right after the return gets.
  const after = await viaRouter(paas, `${app}.localhost`).catch(() => undefined);
  return { returned: returned!, served, atReturn: after?.status === 200 && serves(after.body, want) };
}

/**
 * A paas server on `runtime` with the settle window of the server's default (PAAS_SETTLE_MS from
 * the caller's environment, if set: startPaas's 300 ms test default is not what users get).
 */
export async function startRun(runtime: Runtime): Promise<PaasRun> {
  const settle = { PAAS_SETTLE_MS: process.env.PAAS_SETTLE_MS ?? '' };
  const paas = await startPaas(runtime === 'docker' ? { ...dockerTestEnv(), ...settle } : { PAAS_RUNTIME: 'process', ...settle });
  const apps: string[] = [];
  const pushCmd = (name: string, dir: string) => () => sh('git', ['push', '-q', gitUrl(paas, name), 'main'], { cwd: dir, env: paas.env });
  return {
    paas,
    async app(name, files, code) {
      await createApp(paas, name);
      apps.push(name);
      const dir = await gitRepo(paas, files);
      const app: PaasApp = {
        state: { code, value: '-' },
        async push(change, next) {
          await commitFiles(paas, dir, change);
          const want = { ...app.state, code: next };
          const t = await timed(paas, name, 'git push', want, pushCmd(name, dir));
          app.state = want;
          return t;
        },
        async rollback(previous) {
          const t = await timed(paas, name, 'paas releases:rollback', previous, () => cli(paas, ['releases:rollback', '-a', name]));
          app.state = previous;
          return t;
        },
        async configSet(value) {
          const want = { ...app.state, value };
          const t = await timed(paas, name, 'paas config:set', want, () => cli(paas, ['config:set', `BENCH_VALUE=${value}`, '-a', name]));
          app.state = want;
          return t;
        },
      };
      await timed(paas, name, 'the first git push', app.state, pushCmd(name, dir));
      return app;
    },
    async stop() {
      await paas.stop();
      // Docker dynos outlive their server: remove what it made (containers, images, networks, caches).
      if (runtime === 'docker') await removeInstance(await connectDocker(), instanceId(paas.dataDir), apps);
    },
  };
}
