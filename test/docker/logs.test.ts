// Logs and drains on the docker runtime: a container's stdout and stderr reach a running tail, an
// HTTP (logplex) drain, a syslog drain and the history, with the dyno as source; the history
// survives a deploy; and after a control-plane restart the adopted container's new lines reach
// all of them again while the history from before the restart is still there.
import { beforeAll, expect, it, vi } from 'vitest';
import { dockerSuite, dockerTestEnv, removeWhenDone } from '../helpers/docker.js';
import { httpReceiver, syslogReceiver, TICK } from '../helpers/drain-receivers.js';
import { tickerApp } from '../helpers/fixtures.js';
import { interrupt, tail } from '../helpers/log-tail.js';
import { cli, commitFiles, createApp, gitRepo, type Paas, push, startPaas } from '../helpers/paas.js';

const APP = 'dockerlogs';

/** The ticker, also printing every tenth tick to stderr: both streams of the container count. */
const app = {
  ...tickerApp,
  'server.js': tickerApp['server.js'].replace("let n = 0;", "let n = 0;\nsetInterval(() => console.error('stderr ' + boot + ' ' + n), 1000);"),
};

/** `tick <boot> <n>` lines of web.1 in a CLI's output, as [boot, n]. */
function ticks(text: string): [string, number][] {
  return [...text.matchAll(/ app\[web\.1\]: tick (\w+) (\d+)$/gm)].map((m) => [m[1], Number(m[2])]);
}

dockerSuite('logs and drains (docker runtime)', () => {
  let paas: Paas;
  let repo: string;
  let web: Awaited<ReturnType<typeof httpReceiver>>;
  let syslog: Awaited<ReturnType<typeof syslogReceiver>>;
  const drained = () => ({
    web: web.posts.flatMap((p) => p.frames).flatMap((f) => TICK(APP).exec(f)?.[0] ?? []),
    syslog: syslog.received().filter((f) => TICK(APP).test(f)),
  });

  beforeAll(async () => {
    paas = await startPaas(dockerTestEnv());
    await removeWhenDone(paas, [APP]);
    web = await httpReceiver();
    syslog = await syslogReceiver();
    await createApp(paas, APP);
    for (const url of [`http://127.0.0.1:${web.port}/logs`, `syslog+tcp://127.0.0.1:${syslog.port}`]) {
      const r = await cli(paas, ['drains:add', url, '-a', APP]);
      expect(r.code, r.stderr).toBe(0);
    }
    repo = await gitRepo(paas, app);
    const pushed = await push(paas, repo, APP);
    expect(pushed.code, pushed.stderr).toBe(0);
  }, 300_000);

  it("sends a container's stdout and stderr to a tail, both drains and the history, as app[web.1]", async () => {
    const t = tail(paas, APP, ['--ps', 'web.1', '-n', '1']);
    await vi.waitFor(() => expect(t.stdout()).toMatch(/^\S+Z app\[web\.1\]: tick \w+ \d+$/m), { timeout: 30_000 });
    await vi.waitFor(() => expect(t.stdout()).toMatch(/^\S+Z app\[web\.1\]: stderr \w+ \d+$/m), { timeout: 30_000 });
    await vi.waitFor(() => expect(drained().web.length).toBeGreaterThan(2), { timeout: 30_000, interval: 200 });
    await vi.waitFor(() => expect(drained().syslog.length).toBeGreaterThan(2), { timeout: 30_000, interval: 200 });
    await interrupt(t);
    const history = await cli(paas, ['logs', '-a', APP, '-n', '50', '--ps', 'web.1']);
    expect(history.code, history.stderr).toBe(0);
    expect(ticks(history.stdout).length).toBeGreaterThan(2);
  });

  it('keeps the history across a deploy: the old container’s lines, then the new one’s', async () => {
    const [oldBoot] = ticks((await cli(paas, ['logs', '-a', APP, '-n', '20', '--ps', 'web.1'])).stdout).at(-1)!;
    await commitFiles(paas, repo, { 'CHANGES.md': 'v2\n' });
    const pushed = await push(paas, repo, APP);
    expect(pushed.code, pushed.stderr).toBe(0);
    await vi.waitFor(async () => {
      const boots = ticks((await cli(paas, ['logs', '-a', APP, '-n', '1500', '--ps', 'web.1'])).stdout).map(([b]) => b);
      expect(boots[0]).toBe(oldBoot);
      expect(boots.at(-1)).not.toBe(oldBoot);
    }, { timeout: 30_000, interval: 500 });
  });

  // Last: the second server lives only as long as this test.
  it("after a control-plane restart, follows the adopted container: new lines reach the tail and the drains; the history survives", async () => {
    const t = tail(paas, APP, ['--ps', 'web.1', '-n', '1']);
    await vi.waitFor(() => expect(ticks(t.stdout()).length).toBeGreaterThan(0), { timeout: 30_000 });
    const port = new URL(paas.apiUrl).port;
    expect(await paas.stop()).toBe(0);
    const [boot, lastSeen] = ticks(t.stdout()).at(-1)!;
    const drainedBefore = { web: drained().web.length, syslog: drained().syslog.length };
    paas = await startPaas({ ...dockerTestEnv(), PAAS_DATA_DIR: paas.dataDir, PAAS_API_TOKEN: paas.token, PORT: port });
    await vi.waitFor(() => expect(t.stderr()).toMatch(/^paas: reconnected$/m), { timeout: 30_000 });
    // The same container (its boot id), adopted rather than restarted, counting on past what was seen.
    await vi.waitFor(() => expect(ticks(t.stdout()).some(([b, n]) => b === boot && n > lastSeen + 5)).toBe(true), { timeout: 30_000 });
    await interrupt(t);
    await vi.waitFor(() => expect(drained().web.length).toBeGreaterThan(drainedBefore.web + 5), { timeout: 30_000, interval: 200 });
    await vi.waitFor(() => expect(drained().syslog.length).toBeGreaterThan(drainedBefore.syslog + 5), { timeout: 30_000, interval: 200 });
    const history = await cli(paas, ['logs', '-a', APP, '-n', '1500', '--ps', 'web.1']);
    expect(history.stdout).toContain(`tick ${boot} ${lastSeen}\n`);
  });
});
