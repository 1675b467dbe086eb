// HTTPS through real router processes: a standalone `paas router` (two workers) fed by a route
// stream the test serves from the server's own Routes and RouteStream classes (the control plane's
// certificate commands are not needed to drive it), and the embedded router of `paas server`.
import fs from 'node:fs';
import http from 'node:http';
import { describe, expect, it, vi } from 'vitest';
import { Routes } from '../server/dynos/routes.js';
import { RouteStream } from '../server/http/route-stream.js';
import { onCleanup } from './helpers/cleanup.js';
import { BIN, spawnChild, startPaas, tempDir, viaRouter } from './helpers/paas.js';
import { makeLeaf, makeTestCa } from './helpers/pki.js';
import { descendants, listensOn } from './helpers/procs.js';
import { backend, listen } from './helpers/router.js';
import { fingerprintOf, handshake, request } from './helpers/tls-client.js';

const UP = { timeout: 20_000, interval: 100 };
const TOKEN = 'tls-proc-test-token';
const workersOf = (pid: number) => descendants(pid).filter((p) => p.cmdline.includes('router/worker.js'));

/** The route stream of a control plane made of `routes` alone, on a loopback port. */
async function serveStream(routes: Routes): Promise<string> {
  const stream = new RouteStream({ routes, token: TOKEN, domain: 'apps.test', logs: { appendAll: () => undefined }, log: () => undefined });
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', stream.handleUpgrade);
  onCleanup(async () => {
    await stream.close();
    server.close();
  });
  return `http://127.0.0.1:${await listen(server)}`;
}

describe('HTTPS through router processes', () => {
  it('a standalone router serves HTTPS from every worker, with the certificates, challenges and redirects the stream sends, changed at run time', async () => {
    const dir = tempDir('paas-tls-proc-');
    const ca = fs.readFileSync(makeTestCa(dir).caFile, 'utf8');
    const [first, second] = [makeLeaf(dir, 'one', ['www.shop.test']), makeLeaf(dir, 'two', ['www.shop.test'])];
    const dyno = await backend((req, res) => res.end(`${req.headers['x-forwarded-proto']} ${req.headers['x-forwarded-port']}`));
    const routes = new Routes();
    routes.addApp('shop', { domains: ['www.shop.test'] });
    routes.setTargets('shop', [{ ...dyno, dyno: 'web.1' }]);
    routes.setCerts([{ id: 'c1', hostnames: ['www.shop.test'], ...first }]);
    const apiUrl = await serveStream(routes);

    const proc = spawnChild(process.execPath, [BIN, 'router'], {
      env: { PATH: process.env.PATH!, HOME: dir, PAAS_API_URL: apiUrl, PAAS_API_TOKEN: TOKEN, PAAS_ROUTER_PORT: '0', PAAS_ROUTER_TLS_PORT: '0', PAAS_ROUTER_WORKERS: '2', PAAS_BIND_HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    // The stream may connect before a worker prints its listening lines: wait for all of them.
    await vi.waitFor(() => {
      expect(out).toMatch(/Route stream connected/);
      expect(out).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+/);
      expect(out).toMatch(/listening on https:\/\/127\.0\.0\.1:\d+ \(TLS\)/);
    }, UP);
    const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
    const tlsPort = Number(/listening on https:\/\/127\.0\.0\.1:(\d+) \(TLS\)/.exec(out)![1]);

    // Both workers hold the TLS port, and every connection, whichever worker takes it, is served.
    const workers = workersOf(proc.pid!);
    expect(workers).toHaveLength(2);
    for (const w of workers) expect(listensOn(w.pid, tlsPort)).toBe(true);
    await vi.waitFor(async () => expect((await request(tlsPort, 'www.shop.test', '/', ca)).body).toBe(`https ${tlsPort}`), UP);
    for (let i = 0; i < 12; i++) expect(await request(tlsPort, 'www.shop.test', '/', ca)).toMatchObject({ status: 200, body: `https ${tlsPort}` });

    // A new certificate reaches every worker: no handshake gets the old one once it has.
    routes.setCerts([{ id: 'c1', hostnames: ['www.shop.test'], ...second }]);
    await vi.waitFor(async () => {
      for (let i = 0; i < 12; i++) expect((await handshake(tlsPort, 'www.shop.test')).fingerprint).toBe(fingerprintOf(second.cert));
    }, UP);

    // An HTTP-01 token, then the redirect the app asks for.
    routes.setChallenges({ http01: { tok: 'tok.key' }, tlsAlpn01: [] });
    routes.setTls('shop', { redirect: true });
    await vi.waitFor(async () => {
      for (let i = 0; i < 6; i++) expect((await request(port, 'www.shop.test', '/.well-known/acme-challenge/tok')).body).toBe('tok.key');
      for (let i = 0; i < 6; i++) expect((await request(port, 'www.shop.test', '/x?y')).headers.location).toBe(`https://www.shop.test:${tlsPort}/x?y`);
    }, UP);
  });

  it('the embedded router of paas server listens for TLS in every worker and prints where', async () => {
    const paas = await startPaas({ PAAS_ROUTER_WORKERS: '2' });
    expect(paas.output()).toMatch(new RegExp(`paas router listening on https://127\\.0\\.0\\.1:${paas.routerTlsPort} \\(TLS\\)`));
    expect(paas.routerTlsPort).toBeGreaterThan(0);
    const workers = workersOf(paas.proc.pid!);
    expect(workers).toHaveLength(2);
    for (const w of workers) expect(listensOn(w.pid, paas.routerTlsPort)).toBe(true);
    // No certificate yet: a handshake is refused by name, and plain HTTP is as it was.
    await expect(handshake(paas.routerTlsPort, 'nothing.localhost')).rejects.toMatchObject({ code: 'ERR_SSL_TLSV1_UNRECOGNIZED_NAME' });
    expect((await viaRouter(paas, 'nothing.localhost')).status).toBe(404);
  });
});
