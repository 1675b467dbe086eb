// `paas router` on its own, against `paas server --no-router`: real processes over loopback. The
// router gets its table from the route stream, keeps serving it while the control plane is away
// (paused, or killed and restarted), and takes the changes the control plane makes once it is back.
import net from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { nodeApp } from './helpers/fixtures.js';
import { apiCall, createApp, gitRepo, push, startPaas, viaRouter } from './helpers/paas.js';
import { startRouter, stopRouter } from './helpers/router-proc.js';
import { descendants } from './helpers/procs.js';

const UP = { timeout: 20_000, interval: 100 };

describe('paas router, standalone', () => {
  it('serves what the control plane pushes, logs each request to the app, keeps serving while the control plane is paused, and restarts a worker that dies', async () => {
    const paas = await startPaas({}, { noRouter: true });
    // Printed just after the API's line, which is all startPaas waits for.
    await vi.waitFor(() => expect(paas.output()).toContain('paas router: not started (--no-router)'), UP);
    expect(paas.output()).not.toMatch(/router listening/);
    const router = await startRouter(paas);
    await vi.waitFor(() => expect(router.output()).toMatch(/Route stream connected .*: 0 app/), UP);

    await createApp(paas, 'solo');
    const dir = await gitRepo(paas, nodeApp('through the standalone router'));
    expect((await push(paas, dir, 'solo')).code).toBe(0);
    await expect.poll(async () => (await viaRouter(router.via, 'solo.localhost')).body, UP).toContain('through the standalone router');
    // Its request log comes back over the stream into the app's log, as source `router`.
    await expect
      .poll(async () => ((await apiCall(paas, 'GET', '/v1/apps/solo/logs?lines=50')).json as { source: string; line: string }[]).filter((l) => l.source === 'router').map((l) => l.line).join('\n'), UP)
      .toMatch(/status=200/);

    // A paused control plane (SIGSTOP) is no concern of the router's: dynos and table are still there.
    paas.proc.kill('SIGSTOP');
    try {
      for (let i = 0; i < 5; i++) expect((await viaRouter(router.via, 'solo.localhost')).status).toBe(200);
    } finally {
      paas.proc.kill('SIGCONT');
    }

    // A worker that dies is restarted; the other one serves meanwhile.
    const workers = () => descendants(router.proc.pid).filter((p) => p.cmdline.includes('router/worker.js'));
    expect(workers()).toHaveLength(2);
    process.kill(workers()[0].pid, 'SIGKILL');
    await vi.waitFor(() => expect(router.output()).toMatch(/worker \d exited \(SIGKILL\); restarting it in \d+ ms/), UP);
    expect((await viaRouter(router.via, 'solo.localhost')).status).toBe(200);
    await vi.waitFor(() => expect(workers()).toHaveLength(2), UP);
    expect(await stopRouter(router)).toBe(0);
    expect(workers()).toEqual([]);
  });

  it('reconnects to a control plane killed and restarted on the same data dir, and serves the restored app', async () => {
    const paas = await startPaas({}, { noRouter: true });
    const router = await startRouter(paas);
    await createApp(paas, 'phoenix');
    const dir = await gitRepo(paas, nodeApp('risen'));
    expect((await push(paas, dir, 'phoenix')).code).toBe(0);
    await expect.poll(async () => (await viaRouter(router.via, 'phoenix.localhost')).body, UP).toContain('risen');

    await paas.stop('SIGKILL');
    await vi.waitFor(() => expect(router.output()).toMatch(/Lost the route stream .*serving the last table, retrying/), UP);
    const again = await startPaas({ PAAS_DATA_DIR: paas.dataDir, PAAS_API_TOKEN: paas.token, PORT: new URL(paas.apiUrl).port }, { noRouter: true });
    await vi.waitFor(() => expect(router.output().match(/Route stream connected/g)).toHaveLength(2), UP);
    await expect.poll(async () => (await viaRouter(router.via, 'phoenix.localhost')).body, UP).toContain('risen');
    // The retries said nothing more than that: one line per change of state.
    expect(router.output().match(/Lost the route stream/g)).toHaveLength(1);

    // A route change made after the restart reaches the router: a new app appears there.
    await createApp(again, 'fresh');
    await expect.poll(async () => (await viaRouter(router.via, 'fresh.localhost')).status, UP).toBe(503);
    expect(await stopRouter(router)).toBe(0);
  });

  it('refuses to start without PAAS_API_URL, and says why', async () => {
    const paas = await startPaas({}, { noRouter: true });
    await expect(startRouter(paas, { PAAS_API_URL: '' })).rejects.toThrow(/Set PAAS_API_URL/);
    await expect(startRouter(paas, { PAAS_API_URL: 'ftp://x' })).rejects.toThrow(/not an http\(s\) URL/);
  });

  it('refuses a port another process of this user holds, even one that would share it (SO_REUSEPORT)', async () => {
    const paas = await startPaas({}, { noRouter: true });
    const squatter = net.createServer((s) => s.end('HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nstolen'));
    await new Promise<void>((r) => squatter.listen({ port: 0, host: '127.0.0.1', reusePort: true }, r));
    try {
      const port = (squatter.address() as net.AddressInfo).port;
      await expect(startRouter(paas, { PAAS_ROUTER_PORT: String(port) })).rejects.toThrow(new RegExp(`Port ${port} is in use`));
    } finally {
      squatter.close();
    }
  });
});
