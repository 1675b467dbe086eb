// The formation and its reconciler, end to end: ps:scale of web and worker types, validation, dynos
// killed from outside, crash backoff, a release whose new dyno dies right after it went live, and
// the regression where a failed deploy stopped crash restarts. Real server, real pushes, real dynos.
import fs from 'node:fs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Dyno } from '../cli/types.js';
import { apiCall, cli, commitFiles, createApp, gitRepo, gitUrl, type Paas, push, spawnChild, startPaas, viaRouter } from './helpers/paas.js';

let paas: Paas;
beforeAll(async () => {
  paas = await startPaas({ PAAS_MAX_DYNOS_PER_TYPE: '4', PAAS_SETTLE_MS: '1500' });
});

/** An app with a web process that names its dyno and a worker that prints a line every 200 ms. */
function formationApp(message: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    Procfile: 'web: exec node server.js\nworker: exec node worker.js\n',
    'server.js': `require('http').createServer((q, s) => s.end(JSON.stringify({ message: ${JSON.stringify(message)}, dyno: process.env.DYNO }))).listen(process.env.PORT);\nprocess.on('SIGTERM', () => process.exit(0));\n`,
    'worker.js': "setInterval(() => console.log('worker alive ' + process.env.DYNO), 200);\nprocess.on('SIGTERM', () => process.exit(0));\n",
    ...extra,
  };
}

async function ps(app: string): Promise<Dyno[]> {
  const r = await cli(paas, ['ps', '-a', app, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Dyno[];
}

/** The pids of an app's dyno processes running `node`, found by their environment in /proc. */
function dynoPids(app: string, dyno: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = fs.readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (env.includes(`PAAS_APP_NAME=${app}`) && env.includes(`DYNO=${dyno}`) && cmd.startsWith('node')) pids.push(Number(entry));
    } catch {
      // gone, or not readable
    }
  }
  return pids;
}

describe('ps:scale', () => {
  it('runs a worker scaled to 2, both logging, and web=3 through the router', async () => {
    await createApp(paas, 'shape');
    const pushed = await push(paas, await gitRepo(paas, formationApp('v1')), 'shape');
    expect(pushed.code).toBe(0);
    expect(pushed.stderr).toContain('Procfile declares types     -> web, worker');
    expect(pushed.stderr).not.toContain('Default types for buildpack');
    const formation = await cli(paas, ['ps:scale', '-a', 'shape']);
    expect(formation.stdout.trim()).toBe('web=1 worker=0');

    const scaled = await cli(paas, ['ps:scale', 'worker=2', 'web=3', '-a', 'shape']);
    expect(scaled.code, scaled.stderr).toBe(0);
    expect(scaled.stdout).toContain('Now running web=3 worker=2');
    const dynos = await ps('shape');
    expect(dynos.map((d) => d.name).sort()).toEqual(['web.1', 'web.2', 'web.3', 'worker.1', 'worker.2']);
    expect(dynos.every((d) => d.state === 'up' && d.release === 1 && d.restarts === 0)).toBe(true);
    await vi.waitFor(async () => {
      const logs = (await cli(paas, ['logs', '-a', 'shape', '-n', '500'])).stdout;
      expect(logs).toContain('worker alive worker.1');
      expect(logs).toContain('worker alive worker.2');
    }, { timeout: 10_000, interval: 200 });
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) seen.add((JSON.parse((await viaRouter(paas, 'shape.localhost')).body) as { dyno: string }).dyno);
    expect([...seen].sort()).toEqual(['web.1', 'web.2', 'web.3']);

    expect((await cli(paas, ['ps:scale', 'web-2', 'worker=0', '-a', 'shape'])).stdout).toContain('Now running web=1 worker=0');
    expect((await ps('shape')).map((d) => d.name)).toEqual(['web.1']);
  });

  it('drains a scaled-down dyno: SIGTERM, the grace period, then SIGKILL, logged', async () => {
    await createApp(paas, 'stubborn');
    const app = formationApp('stubborn', { 'server.js': "require('http').createServer((q, s) => s.end('x')).listen(process.env.PORT);\nprocess.on('SIGTERM', () => console.log('ignoring SIGTERM'));\n" });
    expect((await push(paas, await gitRepo(paas, app), 'stubborn')).code).toBe(0);
    expect((await cli(paas, ['ps:scale', 'web=0', '-a', 'stubborn'])).code).toBe(0);
    const logs = (await cli(paas, ['logs', '-a', 'stubborn'])).stdout;
    expect(logs).toMatch(/paas\[web\.1\]: Stopping process with SIGTERM[\s\S]*ignoring SIGTERM[\s\S]*paas\[web\.1\]: Process did not exit within 3 s of SIGTERM; stopped with SIGKILL/);
    expect(await ps('stubborn')).toEqual([]);
  });

  it('refuses an unknown type, a negative count, more than the limit, and release, changing nothing', async () => {
    await createApp(paas, 'strict');
    expect((await push(paas, await gitRepo(paas, formationApp('v1', { Procfile: 'web: exec node server.js\nworker: exec node worker.js\nrelease: true\n' })), 'strict')).code).toBe(0);
    const cases: [string[], string][] = [
      [['clock=1'], 'has no process type "clock". Its process types are: web, worker.'],
      [['web-5'], 'web cannot go below 0 dynos'],
      [['web=5'], 'more than the 4 dynos a process type may have'],
      [['release=1'], 'cannot be scaled'],
      [['constructor=2'], 'has no process type "constructor"'],
      [['web=x'], 'is not TYPE=N'],
    ];
    for (const [args, message] of cases) {
      const r = await cli(paas, ['ps:scale', ...args, '-a', 'strict']);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toContain(message);
    }
    const api = await apiCall(paas, 'PATCH', '/v1/apps/strict/formation', { updates: [{ type: 'web', quantity: -1 }] });
    expect(api.status).toBe(422);
    expect(api.json).toMatchObject({ id: 'invalid_params' });
    expect((await cli(paas, ['ps:scale', '-a', 'strict'])).stdout.trim()).toBe('web=1 worker=0');
  });
});

describe('crashes', () => {
  it('brings back a dyno killed from outside, and counts the restart', async () => {
    await createApp(paas, 'phoenix');
    expect((await push(paas, await gitRepo(paas, formationApp('alive')), 'phoenix')).code).toBe(0);
    const [pid] = dynoPids('phoenix', 'web.1');
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    await vi.waitFor(async () => expect(await ps('phoenix')).toMatchObject([{ name: 'web.1', state: 'up', restarts: 1 }]), { timeout: 15_000, interval: 100 });
    expect(JSON.parse((await viaRouter(paas, 'phoenix.localhost')).body)).toMatchObject({ message: 'alive' });
  });

  it('backs off a crash loop: at once, then 1 s, then 2 s (from the recorded crash and start times)', async () => {
    await createApp(paas, 'looping');
    // Lives through its push's settle window (1.5 s here), then exits, after every start.
    const app = formationApp('loop', { 'server.js': "require('http').createServer((q, s) => s.end('x')).listen(process.env.PORT);\nsetTimeout(() => process.exit(3), 2500);\n" });
    expect((await push(paas, await gitRepo(paas, app), 'looping')).code).toBe(0);
    const events = async () =>
      ((await apiCall(paas, 'GET', '/v1/apps/looping/logs?lines=1500')).json as { time: string; source: string; line: string }[]).filter(
        (l) => l.source === 'paas[web.1]' && (l.line.startsWith('Starting process') || l.line.startsWith('Process exited')),
      );
    // Three crashes and the three restarts after them.
    const log = await vi.waitFor(async () => {
      const e = await events();
      if (e.filter((l) => l.line.startsWith('Starting process')).length < 4) throw new Error('not enough restarts yet');
      return e;
    }, { timeout: 40_000, interval: 250 });
    const delays: number[] = [];
    for (let i = 0; i < log.length - 1; i++) {
      if (log[i].line.startsWith('Process exited') && log[i + 1].line.startsWith('Starting process')) delays.push(Date.parse(log[i + 1].time) - Date.parse(log[i].time));
    }
    expect(log.find((l) => l.line.startsWith('Process exited'))?.line).toContain('code 3');
    expect(delays[0]).toBeLessThan(500);
    expect(delays[1]).toBeGreaterThanOrEqual(900);
    expect(delays[2]).toBeGreaterThanOrEqual(1900);
    expect((await ps('looping'))[0].restarts).toBeGreaterThanOrEqual(3);
    await cli(paas, ['ps:scale', 'web=0', '-a', 'looping']);
  });
});

describe('a release whose new web dyno dies right after going live', () => {
  it('is put back after the push returned: the previous release serves again, and releases and logs say why', async () => {
    await createApp(paas, 'flaky');
    const dir = await gitRepo(paas, formationApp('stable'));
    expect((await push(paas, dir, 'flaky')).code).toBe(0);
    expect((await cli(paas, ['ps:scale', 'worker=1', '-a', 'flaky'])).code).toBe(0);
    // The new release also drops the worker type, which its revert must bring back at its quantity.
    await commitFiles(paas, dir, {
      Procfile: 'web: exec node server.js\n',
      'server.js': "require('http').createServer((q, s) => s.end('flaky')).listen(process.env.PORT, () => { console.error('about to fall over'); setTimeout(() => process.exit(7), 800); });\n",
    });
    // The push ends once the new dyno is routed, and says what stands by and where a revert shows.
    const r = await push(paas, dir, 'flaky');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('v1 stands by for 1.5 s: should a new dyno die by then, it serves again (shown by `paas releases` and `paas logs`)');
    // The next command about the app tells its owner once, on stderr, whatever the command (the
    // server's stdout shows the revert; asking the API about the app would take the notice).
    await vi.waitFor(() => expect(paas.output()).toContain('Release v2 put back'), { timeout: 10_000, interval: 50 });
    const next = await cli(paas, ['config', '-a', 'flaky']);
    expect(next.stderr).toMatch(/^ ! {4}Release v2 was put back at \d\d:\d\d:\d\d UTC: web\.1 exited with code 7 within 1\.5 s of going live, so v1 serves again\. Its last output is in `paas logs -a flaky`\.$/m);
    expect((await cli(paas, ['config', '-a', 'flaky'])).stderr).not.toContain('put back');
    const releases = async () => (await apiCall(paas, 'GET', '/v1/apps/flaky/releases')).json as { version: number; status: string; current: boolean }[];
    await vi.waitFor(async () => expect((await releases()).find((x) => x.version === 2)).toMatchObject({ status: 'failed', current: false }), { timeout: 10_000, interval: 100 });
    expect((await releases()).find((x) => x.version === 1)).toMatchObject({ status: 'succeeded', current: true });
    const logs = (await cli(paas, ['logs', '-a', 'flaky', '-n', '200'])).stdout;
    expect(logs).toContain('Release v2 put back: web.1 exited with code 7 within 1.5 s of going live, so v1 serves again.');
    expect(logs).toContain('about to fall over');
    for (let i = 0; i < 5; i++) expect(JSON.parse((await viaRouter(paas, 'flaky.localhost')).body)).toMatchObject({ message: 'stable' });
    await vi.waitFor(async () => expect((await ps('flaky')).map((d) => `${d.name}:${d.state}`).sort()).toEqual(['web.1:up', 'worker.1:up']), { timeout: 10_000, interval: 100 });
    // v1 is the app's release again: a restart brings back v1, not v2.
    expect((await cli(paas, ['ps:restart', '-a', 'flaky'])).code).toBe(0);
    expect(JSON.parse((await viaRouter(paas, 'flaky.localhost')).body)).toMatchObject({ message: 'stable' });
  });
});

describe('paas ps during a settle window', () => {
  it('shows the previous release\'s web dyno as standing by, not as a second one up', async () => {
    // A window long enough that the listing below falls inside it however slow the machine.
    const slow = await startPaas({ PAAS_SETTLE_MS: '60000' });
    await createApp(slow, 'onduty');
    const dir = await gitRepo(slow, formationApp('one'));
    expect((await push(slow, dir, 'onduty')).code).toBe(0);
    await commitFiles(slow, dir, { Procfile: 'web: exec node server.js\n' });
    expect((await push(slow, dir, 'onduty')).code).toBe(0);
    const json = JSON.parse((await cli(slow, ['ps', '-a', 'onduty', '--json'])).stdout) as { name: string; state: string; release: number }[];
    expect(json.map((d) => `${d.name}:${d.state}:v${d.release}`).sort()).toEqual(['web.1:standby:v1', 'web.1:up:v2']);
    const text = (await cli(slow, ['ps', '-a', 'onduty'])).stdout;
    expect(text).toContain('=== web (1, 1 standing by): exec node server.js');
    expect(text).toMatch(/^web\.1: standby \S+ \(v1\): out of the routes, serves again should the new release's dynos die in its settle window$/m);
    // The app as the API shows it (the dashboard's dynos up/total) says the same.
    const app = await apiCall(slow, 'GET', '/v1/apps/onduty');
    expect(app.json.dynos.map((d: { name: string; state: string }) => `${d.name}:${d.state}`).sort()).toEqual(['web.1:standby', 'web.1:up']);
  });
});

describe('a failed deploy', () => {
  it('leaves the surviving dyno restarted after its next crash (regression)', async () => {
    await createApp(paas, 'survivor');
    const dir = await gitRepo(paas, formationApp('survives'));
    expect((await push(paas, dir, 'survivor')).code).toBe(0);
    await commitFiles(paas, dir, { 'server.js': "console.error('no port for you'); process.exit(1);\n" });
    expect((await push(paas, dir, 'survivor')).code).not.toBe(0);
    const [pid] = dynoPids('survivor', 'web.1');
    process.kill(pid, 'SIGKILL');
    await vi.waitFor(async () => expect(await ps('survivor')).toMatchObject([{ name: 'web.1', state: 'up', restarts: 1, release: 1 }]), { timeout: 15_000, interval: 100 });
    expect(JSON.parse((await viaRouter(paas, 'survivor.localhost')).body)).toMatchObject({ message: 'survives' });
  });
});

describe('health checks', () => {
  it('fail a release whose app.json check fails, with the old release still serving', async () => {
    await createApp(paas, 'checked');
    const healthy = (answer: string) => ({
      'app.json': JSON.stringify({ healthchecks: { web: [{ type: 'startup', path: '/health', attempts: 2, wait: 1, timeout: 2, content: 'ok' }] } }),
      'server.js': `require('http').createServer((q, s) => s.end(q.url === '/health' ? ${JSON.stringify(answer)} : JSON.stringify({ message: ${JSON.stringify(answer)} }))).listen(process.env.PORT);\n`,
    });
    const dir = await gitRepo(paas, formationApp('x', healthy('ok')));
    expect((await push(paas, dir, 'checked')).code).toBe(0);
    await commitFiles(paas, dir, healthy('degraded'));
    const r = await push(paas, dir, 'checked');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Health check GET /health answered 200 without "ok" in its body (attempt 1 of 2)');
    expect(r.stderr).toContain('web.1 failed its health check: GET /health answered 200 without "ok" in its body, 2 times');
    expect(JSON.parse((await viaRouter(paas, 'checked.localhost')).body)).toMatchObject({ message: 'ok' });
    const releases = (await apiCall(paas, 'GET', '/v1/apps/checked/releases')).json as { version: number; status: string; current: boolean }[];
    expect(releases.find((rel) => rel.version === 2)).toMatchObject({ status: 'failed', current: false });
  });

  it('use PAAS_HEALTHCHECK_PATH from config when app.json has none', async () => {
    await createApp(paas, 'pathcheck');
    const app = formationApp('v1', { 'server.js': "require('http').createServer((q, s) => { s.statusCode = q.url === '/up' ? 503 : 200; s.end('fine'); }).listen(process.env.PORT);\n" });
    expect((await push(paas, await gitRepo(paas, app), 'pathcheck')).code).toBe(0);
    const r = await cli(paas, ['config:set', 'PAAS_HEALTHCHECK_PATH=/up', '-a', 'pathcheck']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('failed its health check: GET /up answered 503');
    expect((await viaRouter(paas, 'pathcheck.localhost')).status).toBe(200);
  });
});

describe('what a failure leaves', () => {
  it('a scale whose new dyno fails keeps the formation and the dynos as they were', async () => {
    await createApp(paas, 'allornothing');
    const app = formationApp('one', { 'server.js': "if (process.env.DYNO === 'web.2') { console.error('web.2 refuses'); process.exit(4); }\nrequire('http').createServer((q, s) => s.end(JSON.stringify({ message: 'one' }))).listen(process.env.PORT);\n" });
    expect((await push(paas, await gitRepo(paas, app), 'allornothing')).code).toBe(0);
    const r = await cli(paas, ['ps:scale', 'web=3', '-a', 'allornothing']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('so the formation is unchanged');
    expect(r.stderr).toContain('web.2 refuses');
    expect((await cli(paas, ['ps:scale', '-a', 'allornothing'])).stdout.trim()).toBe('web=1 worker=0');
    expect((await ps('allornothing')).map((d) => d.name)).toEqual(['web.1']);
  });

  it('a push cancelled while its dyno boots leaves the old dyno alone, once', async () => {
    await createApp(paas, 'cancelled');
    const dir = await gitRepo(paas, formationApp('first'));
    expect((await push(paas, dir, 'cancelled')).code).toBe(0);
    await commitFiles(paas, dir, { Procfile: 'web: sleep 30 && exec node server.js\n' });
    const git = spawnChild('git', ['push', gitUrl(paas, 'cancelled'), 'main'], { cwd: dir, env: paas.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    git.stderr!.on('data', (d) => (out += d));
    await vi.waitFor(() => expect(out).toContain('Waiting for web.1'), { timeout: 30_000, interval: 100 });
    process.kill(-git.pid!, 'SIGKILL');
    // The boot goes on to its timeout or end; meanwhile and after, one web.1 of v1 serves.
    await vi.waitFor(async () => expect((await ps('cancelled')).filter((d) => d.type === 'web')).toMatchObject([{ name: 'web.1', release: 1, state: 'up' }]), { timeout: 60_000, interval: 500 });
    expect((await cli(paas, ['ps:scale', 'web=1', '-a', 'cancelled'])).code).toBe(0);
    expect(JSON.parse((await viaRouter(paas, 'cancelled.localhost')).body)).toMatchObject({ message: 'first' });
    expect((await ps('cancelled')).map((d) => d.name)).toEqual(['web.1']);
  });
});
