// Automatic certificates from a real ACME server, offline (issue 25): Pebble validates through the
// paas router's own ports (HTTP-01 on its HTTP port, TLS-ALPN-01 on its TLS port), the app is served
// over HTTPS with the issued certificate (checked against Pebble's root), renewed when due, kept
// across a server (and so router) restart without a new order, and a failed order is named with the
// CA's reason. Skipped only where Pebble is not installed (.ci/run installs it).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import https from 'node:https';
import type tls from 'node:tls';
import { describe, expect, it, vi } from 'vitest';
import type { Certs } from '../cli/types.js';
import { cli, createApp, gitRepo, type Paas, push, startPaas } from './helpers/paas.js';
import { freePort } from '../server/runtime/free-port.js';
import { havePebble, makePebble, type Pebble } from './helpers/pebble.js';
import { startRouter, stopRouter } from './helpers/router-proc.js';

const app: Record<string, string> = {
  Procfile: 'web: exec node server.js\n',
  'server.js': "require('http').createServer((q, s) => s.end('hi ' + q.headers.host + ' ' + q.headers['x-forwarded-proto'])).listen(process.env.PORT);\nprocess.on('SIGTERM', () => process.exit(0));\n",
};

async function certs(paas: Paas, name: string): Promise<Certs> {
  const r = await cli(paas, ['certs', '-a', name, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Certs;
}

/** The issued ACME certificate of the app, once there is one with a fingerprint other than `not`. */
async function issued(paas: Paas, name: string, not = '', timeout = 60_000): Promise<Certs['certificates'][number]> {
  let cert: Certs['certificates'][number] | undefined;
  await vi.waitFor(
    async () => {
      cert = (await certs(paas, name)).certificates.find((c) => c.source === 'acme');
      expect(cert?.last_error ?? null, paas.output().slice(-2000)).toBeNull();
      expect(cert?.status).toBe('issued');
      expect(cert?.fingerprint).not.toBe(not);
    },
    { timeout, interval: 250 },
  );
  return cert!;
}

/** The leaf the router serves for `host` (SNI and Host), checked against Pebble's root and `host`, and the app's answer. */
function servedFingerprint(paas: Paas, host: string, root: string): Promise<{ fingerprint: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: paas.routerTlsPort, servername: host, headers: { host }, ca: root, agent: false, timeout: 10_000 }, (res) => {
      const fingerprint = (res.socket as tls.TLSSocket).getPeerCertificate().fingerprint256;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ fingerprint, body }));
    });
    req.on('timeout', () => req.destroy(new Error('HTTPS request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** A server with ACME pointed at `pebble`, checking every second, and an app with `host` and auto-certs on. */
async function serverWithApp(pebble: Pebble, name: string, host: string, env: Record<string, string> = {}): Promise<Paas> {
  const paas = await startPaas({ PAAS_ACME_DIRECTORY: pebble.directory, PAAS_ACME_CA_FILE: pebble.caFile, PAAS_ACME_CHECK_INTERVAL: '1s', PAAS_ACME_RETRY: '1s', ...env });
  await createApp(paas, name);
  const pushed = await push(paas, await gitRepo(paas, app), name);
  expect(pushed.code, pushed.stderr).toBe(0);
  expect((await cli(paas, ['domains:add', host, '-a', name])).code).toBe(0);
  return paas;
}

describe.skipIf(!havePebble)('automatic certificates with Pebble', () => {
  it('issues through HTTP-01, serves it, renews when due, and keeps it across a server restart without a new order', { timeout: 180_000 }, async () => {
    const pebble = await makePebble();
    const host = `www.h${crypto.randomBytes(3).toString('hex')}.test`;
    // Renewal due from the start (renew-before longer than the validity): each check renews.
    const paas = await serverWithApp(pebble, 'acme-http', host, { PAAS_ACME_RENEW_BEFORE: '99999d' });
    await pebble.start({ httpPort: paas.routerPort, tlsPort: paas.routerTlsPort });
    const root = await pebble.root();
    const enabled = await cli(paas, ['certs:auto:enable', '-a', 'acme-http']);
    expect(enabled.stdout).toContain('automatic certificates on');
    const first = await issued(paas, 'acme-http');
    expect(first).toMatchObject({ hostnames: [host], source: 'acme' });
    expect(paas.output()).toContain(`acme-http: Issued a certificate for ${host} (http-01)`);
    await vi.waitFor(async () => expect((await servedFingerprint(paas, host, root)).body).toBe(`hi ${host} https`), { timeout: 10_000, interval: 200 });
    await issued(paas, 'acme-http', first.fingerprint);
    // Renewed again each second: the router serves a newer certificate, the one `paas certs` lists at that moment.
    await vi.waitFor(
      async () => {
        const served = (await servedFingerprint(paas, host, root)).fingerprint;
        expect(served).not.toBe(first.fingerprint);
        expect(served).toBe((await certs(paas, 'acme-http')).certificates.find((c) => c.source === 'acme')?.fingerprint);
      },
      { timeout: 20_000, interval: 100 },
    );
    const logs = await cli(paas, ['logs', '-a', 'acme-http', '-n', '200']);
    expect(logs.stdout).toContain(`paas[acme]: Renewing a certificate for ${host}`);

    // The account key is the server's alone, as are the certificates' keys.
    expect(fs.statSync(path.join(paas.dataDir, 'acme', 'account.pem')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(paas.dataDir, 'acme')).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(paas.dataDir, 'certs', first.id, 'key.pem')).mode & 0o777).toBe(0o600);

    // Restarted with the default 30 days: the certificate on disk is served again, and nothing is ordered.
    await paas.stop();
    const again = await startPaas({ PAAS_DATA_DIR: paas.dataDir, PAAS_API_TOKEN: paas.token, PAAS_ACME_DIRECTORY: pebble.directory, PAAS_ACME_CA_FILE: pebble.caFile, PAAS_ACME_CHECK_INTERVAL: '1s' });
    const kept = (await certs(again, 'acme-http')).certificates.find((c) => c.source === 'acme')!;
    await vi.waitFor(async () => expect((await servedFingerprint(again, host, root)).body).toBe(`hi ${host} https`), { timeout: 30_000, interval: 250 });
    await new Promise((r) => setTimeout(r, 2500)); // two checks
    expect((await servedFingerprint(again, host, root)).fingerprint).toBe(kept.fingerprint);
    expect((await certs(again, 'acme-http')).certificates.find((c) => c.source === 'acme')?.fingerprint).toBe(kept.fingerprint);
    expect(again.output()).not.toMatch(/Issued a certificate|Ordering|Renewing/);
  });

  it('falls back to TLS-ALPN-01 when port 80 is closed, serves it from routers started later, and names a failed order with the CA\'s reason', { timeout: 180_000 }, async () => {
    const pebble = await makePebble();
    const host = `www.a${crypto.randomBytes(3).toString('hex')}.test`;
    const paas = await serverWithApp(pebble, 'acme-alpn', host, { PAAS_ACME_DEFAULT: 'auto' });
    // Nothing listens on Pebble's HTTP port: HTTP-01 is refused, TLS-ALPN-01 goes to the router's TLS port.
    await pebble.start({ httpPort: await freePort(), tlsPort: paas.routerTlsPort });
    const root = await pebble.root();
    const cert = await issued(paas, 'acme-alpn');
    expect(paas.output()).toContain(`acme-alpn: Issued a certificate for ${host} (tls-alpn-01)`);
    await vi.waitFor(async () => expect(await servedFingerprint(paas, host, root)).toEqual({ fingerprint: cert.fingerprint, body: `hi ${host} https` }), { timeout: 10_000, interval: 200 });
    // A router started (and restarted) later serves it from the route stream: no new order.
    for (let i = 0; i < 2; i++) {
      const router = await startRouter(paas);
      await vi.waitFor(async () => expect(await servedFingerprint(router.via, host, root)).toEqual({ fingerprint: cert.fingerprint, body: `hi ${host} https` }), { timeout: 10_000, interval: 200 });
      expect(await stopRouter(router)).toBe(0);
    }
    expect(paas.output().match(/acme-alpn: Issued a certificate/g)).toHaveLength(1);

    // A domain whose DNS points elsewhere: both challenges fail, the order is named with the CA's reason.
    const lost = `lost.a${crypto.randomBytes(3).toString('hex')}.test`;
    await pebble.setAddress(lost, '127.0.0.2');
    expect((await cli(paas, ['domains:add', lost, '-a', 'acme-alpn'])).code).toBe(0);
    await vi.waitFor(async () => expect((await certs(paas, 'acme-alpn')).certificates[0]?.last_error).toMatch(/HTTP-01: .+; TLS-ALPN-01: .+/), { timeout: 60_000, interval: 250 });
    const text = await cli(paas, ['certs', '-a', 'acme-alpn']);
    expect(text.stdout).toMatch(/ACME, last order failed \(HTTP-01: .*127\.0\.0\.2.*\); tries again about/);
    const logs = await cli(paas, ['logs', '-a', 'acme-alpn', '-n', '200']);
    expect(logs.stdout).toContain(`paas[acme]: The certificate order for ${lost}, ${host} failed: HTTP-01:`);
    // The certificate it would have replaced is still served.
    expect((await servedFingerprint(paas, host, root)).fingerprint).toBe(cert.fingerprint);
  });
});
