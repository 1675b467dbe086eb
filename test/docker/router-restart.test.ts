// The router on its own, in front of a control plane that restarts: `paas router` and `paas server
// --no-router` as separate processes, dynos as Docker containers (which outlive their server). 16
// keep-alive clients request the app through the router while the control plane is stopped with
// SIGTERM and started again, then killed with SIGKILL and started again: the router serves its last
// table meanwhile, and not one request may fail. A push made after the restarts must reach it.
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it, vi } from 'vitest';
import { instanceId } from '../../server/docker/engine.js';
import { onCleanup } from '../helpers/cleanup.js';
import { dockerSuite, dockerTestEnv, removeInstance, testDocker } from '../helpers/docker.js';
import { startLoad } from '../helpers/load.js';
import { cli, commitFiles, createApp, gitRepo, type Paas, push, startPaas } from '../helpers/paas.js';
import { startRouter } from '../helpers/router-proc.js';

const APP = 'steadfast';

/** A web app that answers with its message and drains on SIGTERM, as a Heroku app should. */
function app(message: string): Record<string, string> {
  return {
    Procfile: 'web: node server.js\n',
    'server.js': `
const http = require('http');
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => setTimeout(() => res.end(${JSON.stringify(message)}), 5));
});
server.listen(process.env.PORT);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`,
  };
}

dockerSuite('a standalone router across control-plane restarts (docker runtime)', () => {
  it('drops no request through a SIGTERM restart and a SIGKILL restart, and serves a push made after them', { timeout: 300_000 }, async () => {
    const env = { ...dockerTestEnv(), PAAS_SETTLE_MS: '1000', PAAS_STOP_GRACE_MS: '5000' };
    let paas: Paas = await startPaas(env, { noRouter: true });
    const docker = await testDocker();
    const instance = instanceId(paas.dataDir);
    // The server in use then stops first: one still running would start again a dyno removed under it.
    onCleanup(async () => {
      await paas.stop();
      await removeInstance(docker, instance, [APP]);
    });
    // Same data dir, token and API port: the address the router was given stays right.
    const again = (): Promise<Paas> => startPaas({ ...env, PAAS_DATA_DIR: paas.dataDir, PAAS_API_TOKEN: paas.token, PORT: new URL(paas.apiUrl).port }, { noRouter: true });

    const router = await startRouter(paas);
    await createApp(paas, APP);
    const repo = await gitRepo(paas, app('v1'));
    expect((await push(paas, repo, APP)).code).toBe(0);
    expect((await cli(paas, ['ps:scale', 'web=2', '-a', APP])).code).toBe(0);
    const connected = () => (router.output().match(/connected/gi) ?? []).length;

    const load = startLoad(router.via, `${APP}.localhost`, { clients: 16, posting: 4, maxMs: 240_000 });
    await vi.waitFor(() => expect(load.seenCount('v1')).toBeGreaterThan(300), { timeout: 30_000 });

    // 1. SIGTERM: the server stops cleanly and leaves the containers running for the next one.
    expect(await paas.stop('SIGTERM')).toBe(0);
    const before = load.count;
    await sleep(1500);
    expect(load.count).toBeGreaterThan(before + 100);
    const seen = connected();
    paas = await again();
    await vi.waitFor(() => expect(connected()).toBeGreaterThan(seen), { timeout: 30_000 });
    await sleep(1500);

    // 2. SIGKILL: no shutdown at all; the next server adopts what it finds.
    paas.proc.kill('SIGKILL');
    await paas.stop();
    const killedAt = load.count;
    await sleep(1500);
    expect(load.count).toBeGreaterThan(killedAt + 100);
    const seen2 = connected();
    paas = await again();
    await vi.waitFor(() => expect(connected()).toBeGreaterThan(seen2), { timeout: 30_000 });

    // 3. A route change made after the restarts (a push) reaches the router.
    await commitFiles(paas, repo, app('v2'));
    expect((await push(paas, repo, APP)).code).toBe(0);
    await vi.waitFor(() => expect(load.seenCount('v2')).toBeGreaterThan(100), { timeout: 30_000 });

    const report = await load.stop();
    expect(report.failed).toEqual([]);
    expect(report.non2xx).toEqual([]);
    expect(report.requests).toBeGreaterThan(1000);
    expect([...report.seen.keys()].sort()).toEqual(['v1', 'v2']);
    await paas.stop();
  });
});
