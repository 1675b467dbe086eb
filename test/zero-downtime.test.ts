// Zero downtime, measured: 16 keep-alive clients request an app through the router without pause
// while every kind of change happens to it, one after another, through the real CLI and a real git
// push. Not one request may fail or answer other than 2xx. The apps behave as a Heroku app should:
// they stop accepting on SIGTERM and finish what they have in flight (server.close).
// The same test runs on both runtimes: the reconciler does not know which one it has.
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { instanceId } from '../server/docker/engine.js';
import { dockerSuite, dockerTestEnv, removeInstance, testDocker } from './helpers/docker.js';
import { type Load, type LoadReport, startLoad } from './helpers/load.js';
import { cli, commitFiles, createApp, gitRepo, type Paas, push, startPaas } from './helpers/paas.js';

let paas: Paas;

/**
 * A web app that reads each request's body, works on it for 10 ms, then answers with its message,
 * release and dyno; it drains on SIGTERM. It starts listening `bootMs` after it starts (a slow
 * boot: loading code, warming caches). With `exitAfterMs` it exits (code 7) that long after it listens.
 */
function app(message: string, bootMs = 0, exitAfterMs?: number): Record<string, string> {
  return {
    Procfile: 'web: node server.js\n',
    'server.js': `
const http = require('http');
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => setTimeout(() => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ message: ${JSON.stringify(message)}, greeting: process.env.GREETING || null, release: process.env.PAAS_RELEASE_VERSION, dyno: process.env.DYNO }));
  }, 10));
});
setTimeout(() => server.listen(process.env.PORT${exitAfterMs === undefined ? '' : `, () => setTimeout(() => process.exit(7), ${exitAfterMs})`}), ${bootMs});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`,
  };
}

/** What a response says about who answered it: "<message> <greeting> <release>". */
function who(body: string): string {
  try {
    const j = JSON.parse(body) as { message: string; greeting: string | null; release: string };
    return `${j.message} ${j.greeting ?? '-'} ${j.release}`;
  } catch {
    return `unparsable: ${body.slice(0, 100)}`;
  }
}

/**
 * The platform's own log lines about the app's dynos, from the server's stdout, which has every line:
 * the app's log keeps the last 1500, and under load the router's line per request pushes these out.
 */
function platformLog(name: string): string[] {
  const prefix = new RegExp(`^\\S+ ${name} (paas\\[web\\.\\d+\\]): (.*)$`);
  return paas.output().split('\n').flatMap((l) => {
    const m = prefix.exec(l);
    return m ? [`${m[1]} ${m[2]}`] : [];
  });
}

/**
 * Every dyno that was stopped left of its own accord once idle: none had requests cut off or needed
 * SIGKILL. The last release's old dynos drain only after its settle window, which no command waits for.
 */
async function expectCleanStops(name: string, atLeast: number): Promise<void> {
  const stops = () => platformLog(name).filter((l) => /Stopping (process|the previous process \(v\d+\)) with SIGTERM/.test(l));
  await vi.waitFor(() => expect(stops().length).toBeGreaterThanOrEqual(atLeast), { timeout: 15_000, interval: 100 });
  expect(platformLog(name).filter((l) => l.includes('SIGKILL') || l.includes('still in flight'))).toEqual([]);
}

async function ok(what: string, run: Promise<{ code: number; stdout: string; stderr: string }>): Promise<string> {
  const r = await run;
  expect(r.code, `${what}:\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** Creates `name` and pushes `files`; once v1 answers (`who` gives `marker`), 16 clients load it, `posting` of them POSTing. */
async function deployedUnderLoad(name: string, files: Record<string, string>, marker: string, posting: number): Promise<{ dir: string; load: Load }> {
  await createApp(paas, name);
  const dir = await gitRepo(paas, files);
  await ok('first push', push(paas, dir, name));
  const load = startLoad(paas, `${name}.localhost`, { key: who, posting });
  await expect.poll(() => load.seenCount(marker), { timeout: 10_000, interval: 50 }).toBeGreaterThan(50);
  return { dir, load };
}

/** Stops the load, says what answered, and checks that no request failed or answered other than 2xx. */
async function stopLoad(load: Load, what: string): Promise<LoadReport> {
  const report = await load.stop();
  console.log(`${what}: ${report.requests} requests; ${report.failed.length} failed, ${report.non2xx.length} non-2xx; answered by`, Object.fromEntries(report.seen));
  expect(report.failed).toEqual([]);
  expect(report.non2xx).toEqual([]);
  return report;
}

function underLoad(runtime: 'process' | 'docker'): void {
  beforeAll(async () => {
    paas = await startPaas({ PAAS_SETTLE_MS: '1000', PAAS_STOP_GRACE_MS: '5000', ...(runtime === 'docker' ? dockerTestEnv() : {}) });
    if (runtime !== 'docker') return;
    // Docker dynos outlive their server: what this one made goes when the file ends, after it stops.
    const docker = await testDocker();
    return async () => {
      await paas.stop();
      await removeInstance(docker, instanceId(paas.dataDir), ['steady', 'relapse', 'sluggish']);
    };
  });

  it('drops no request through a push, config:set, ps:restart, a rollback, ps:scale web=3 and web=1', async () => {
    // 4 clients POSTing: a POST cut off on its way to a stopping dyno cannot be sent again.
    const { dir, load } = await deployedUnderLoad('steady', app('one'), 'one - v1', 4);

    await commitFiles(paas, dir, app('two'));
    await ok('code push', push(paas, dir, 'steady'));
    await expect.poll(() => load.seenCount('two - v2'), { timeout: 10_000, interval: 50 }).toBeGreaterThan(0);

    await ok('config:set', cli(paas, ['config:set', 'GREETING=hi', '-a', 'steady']));
    await expect.poll(() => load.seenCount('two hi v3'), { timeout: 10_000, interval: 50 }).toBeGreaterThan(0);

    const before = load.seenCount('two hi v3');
    await ok('ps:restart', cli(paas, ['ps:restart', '-a', 'steady']));
    await expect.poll(() => load.seenCount('two hi v3'), { timeout: 10_000, interval: 50 }).toBeGreaterThan(before);

    // Back to v2: its code and its config (no GREETING), as v4.
    await ok('releases:rollback', cli(paas, ['releases:rollback', '-a', 'steady']));
    await expect.poll(() => load.seenCount('two - v4'), { timeout: 10_000, interval: 50 }).toBeGreaterThan(0);

    expect(await ok('ps:scale web=3', cli(paas, ['ps:scale', 'web=3', '-a', 'steady']))).toContain('Now running web=3');
    const scaled = load.seenCount('two - v4');
    await expect.poll(() => load.seenCount('two - v4'), { timeout: 10_000, interval: 50 }).toBeGreaterThan(scaled);
    expect(await ok('ps:scale web=1', cli(paas, ['ps:scale', 'web=1', '-a', 'steady']))).toContain('Now running web=1');
    const after = load.seenCount('two - v4');
    await expect.poll(() => load.seenCount('two - v4'), { timeout: 10_000, interval: 50 }).toBeGreaterThan(after + 50);

    const report = await stopLoad(load, 'zero-downtime load test through a push, config:set, ps:restart, a rollback, ps:scale web=3 and web=1');
    expect(report.requests).toBeGreaterThan(100);
    // Drained dynos: the push, config:set, restart and rollback each stopped one, the scale-down two.
    await expectCleanStops('steady', 6);
    // The old and the new web.1 of a deploy or a rolling restart are told apart in the log.
    const log = platformLog('steady');
    expect(log).toContainEqual(expect.stringMatching(/^paas\[web\.1\] Starting a new process beside the running one \(v\d+\), with command/));
    expect(log).toContainEqual(expect.stringMatching(/^paas\[web\.1\] Stopping the previous process \(v\d+\) with SIGTERM: the new web\.1 \(v\d+\) serves in its place$/));
  });

  it('puts the previous release back when a new dyno crashes in the settle window, with no GET failed', async () => {
    // GETs only: a POST the crashing dyno had read cannot be sent again by any router.
    const { dir, load } = await deployedUnderLoad('relapse', app('good'), 'good - v1', 0);
    await commitFiles(paas, dir, app('bad', 0, 400));
    await ok('push of a release that crashes', push(paas, dir, 'relapse'));
    await expect.poll(() => load.seenCount('bad - v2'), { timeout: 10_000, interval: 20 }).toBeGreaterThan(0);
    // v1 takes the traffic back and stays.
    await vi.waitFor(() => expect(platformLog('relapse')).toContain('paas[web.1] Process exited with code 7 within 1 s of going live; v1 takes the traffic back'), { timeout: 10_000, interval: 100 });
    const after = load.seenCount('good - v1');
    await expect.poll(() => load.seenCount('good - v1'), { timeout: 10_000, interval: 50 }).toBeGreaterThan(after + 50);
    const report = await stopLoad(load, 'revert load test through a release whose dyno crashed 0.4 s after going live');
    expect(report.seen.get('bad - v2')).toBeGreaterThan(0);
  });

  it('deploys an app that takes 10 s to listen with no failed request: the old release serves meanwhile', async () => {
    const { dir, load } = await deployedUnderLoad('sluggish', app('old', 10_000), 'old - v1', 4);
    await commitFiles(paas, dir, app('new', 10_000));
    const started = Date.now();
    const pushing = push(paas, dir, 'sluggish');
    // While the new dyno boots, the old release keeps answering.
    const early = load.seenCount('old - v1');
    await expect.poll(() => load.seenCount('old - v1'), { timeout: 10_000, interval: 50 }).toBeGreaterThan(early + 50);
    expect(load.seenCount('new - v2')).toBe(0);
    await ok('slow push', pushing);
    expect(Date.now() - started).toBeGreaterThanOrEqual(10_000);
    await expect.poll(() => load.seenCount('new - v2'), { timeout: 10_000, interval: 50 }).toBeGreaterThan(50);

    await stopLoad(load, 'slow-boot load test through the deploy of a web process that listens after 10 s');
    await expectCleanStops('sluggish', 1);
  });
}

describe('zero-downtime changes under load (process runtime)', () => underLoad('process'));
dockerSuite('zero-downtime changes under load (docker runtime)', () => underLoad('docker'));
