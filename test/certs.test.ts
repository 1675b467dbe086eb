// Uploaded certificates and per-app HTTPS settings through the real CLI and API (issue 25): what is
// refused and how it says so, where the PEM files go (0600, never readable by apps), and what the
// settings commands change.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Certs } from '../cli/types.js';
import { apiCall, cli, createApp, gitRepo, type Paas, push, startPaas, viaRouter, viaRouterTls } from './helpers/paas.js';
import { selfSignedCert, type TestCert } from './helpers/tls.js';

let paas: Paas;
/** The operator's default certificate (PAAS_TLS_CERT_FILE): a wildcard for every app's <app>.paas.test. */
let wildcard: TestCert;
beforeAll(async () => {
  wildcard = selfSignedCert(['*.paas.test']);
  paas = await startPaas({ PAAS_DOMAIN: 'paas.test', PAAS_TLS_CERT_FILE: wildcard.certFile, PAAS_TLS_KEY_FILE: wildcard.keyFile });
  await createApp(paas, 'tls-up');
  expect((await cli(paas, ['domains:add', 'www.upload.test', '-a', 'tls-up'])).code).toBe(0);
});

async function certs(app: string): Promise<Certs> {
  const r = await cli(paas, ['certs', '-a', app, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Certs;
}

describe('certs:add', () => {
  it('adds a self-made certificate for a custom domain, keeps its files 0600 in a 0700 dir, and lists it', async () => {
    const made = selfSignedCert(['www.upload.test']);
    const r = await cli(paas, ['certs:add', made.certFile, made.keyFile, '-a', 'tls-up']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Added cert-[0-9a-f]{8} to tls-up: HTTPS for www\.upload\.test/);
    const listed = await certs('tls-up');
    expect(listed).toMatchObject({ auto: false, redirect: true, hsts_max_age: 0 });
    const cert = listed.certificates.find((c) => r.stdout.includes(c.id))!;
    expect(cert).toMatchObject({ hostnames: ['www.upload.test'], source: 'user', status: 'issued', issuer: 'www.upload.test' });
    const dir = path.join(paas.dataDir, 'certs', cert.id);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(paas.dataDir, 'certs')).mode & 0o777).toBe(0o700);
    for (const f of ['cert.pem', 'key.pem']) expect(fs.statSync(path.join(dir, f)).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(path.join(dir, 'key.pem'), 'utf8')).toContain('PRIVATE KEY');

    const text = await cli(paas, ['certs', '-a', 'tls-up']);
    expect(text.stdout).toContain(`${cert.id}  www.upload.test  www.upload.test  expires ${cert.not_after!.slice(0, 10)}  uploaded, expires ${cert.not_after!.slice(0, 10)}`);

    const removed = await cli(paas, ['certs:remove', 'www.upload.test', '-a', 'tls-up']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain(`Removed ${cert.id} (www.upload.test) from tls-up.`);
    expect(fs.existsSync(dir)).toBe(false);
    expect((await certs('tls-up')).certificates).toEqual([]);
  });

  it('refuses a key of another certificate, naming the mismatch', async () => {
    const made = selfSignedCert(['www.upload.test']);
    const other = selfSignedCert(['www.upload.test']);
    const r = await cli(paas, ['certs:add', made.certFile, other.keyFile, '-a', 'tls-up']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('The key does not match the certificate (www.upload.test)');
    const api = await apiCall(paas, 'POST', '/v1/apps/tls-up/certs', { cert: made.cert, key: other.key });
    expect(api).toMatchObject({ status: 422, json: { id: 'key_mismatch' } });
  });

  it('refuses an expired certificate and one not valid yet', async () => {
    const expired = selfSignedCert(['www.upload.test'], { from: new Date('2020-01-01'), until: new Date('2020-02-01') });
    const r = await cli(paas, ['certs:add', expired.certFile, expired.keyFile, '-a', 'tls-up']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('The certificate (www.upload.test) expired on 2020-02-01T00:00:00.000Z. Renew it with your CA, then add the new one.');
    const future = selfSignedCert(['www.upload.test'], { from: new Date(Date.now() + 86_400_000) });
    expect(await apiCall(paas, 'POST', '/v1/apps/tls-up/certs', { cert: future.cert, key: future.key })).toMatchObject({ status: 422, json: { id: 'cert_not_yet_valid' } });
  });

  it('refuses what is not PEM, and a certificate for none of the app\'s hostnames', async () => {
    const made = selfSignedCert(['www.upload.test']);
    const r = await cli(paas, ['certs:add', made.keyFile, made.keyFile, '-a', 'tls-up']);
    expect(r.stderr).toContain('CERT_FILE is not a PEM certificate');
    expect(await apiCall(paas, 'POST', '/v1/apps/tls-up/certs', { cert: made.cert, key: 'hello' })).toMatchObject({ status: 422, json: { id: 'key_not_pem' } });
    const elsewhere = selfSignedCert(['shop.elsewhere.test']);
    const e = await cli(paas, ['certs:add', elsewhere.certFile, elsewhere.keyFile, '-a', 'tls-up']);
    expect(e.code).toBe(1);
    expect(e.stderr).toContain('The certificate is for shop.elsewhere.test, none of which tls-up answers at (tls-up.paas.test, www.upload.test). Add the domain first');
    const missing = await cli(paas, ['certs:add', '/nonexistent/cert.pem', made.keyFile, '-a', 'tls-up']);
    expect(missing.stderr).toContain('Could not read the certificate /nonexistent/cert.pem (ENOENT)');
    expect((await certs('tls-up')).certificates).toEqual([]);
  });
});

describe('HTTPS settings', () => {
  it('turns redirects off and on, HSTS on with a max-age and off, and auto-certs on and off', async () => {
    await createApp(paas, 'tls-set');
    const off = await cli(paas, ['certs:redirect', 'off', '-a', 'tls-set']);
    expect(off.stdout).toContain('tls-set: automatic certificates off; HTTP → HTTPS redirect off; HSTS off');
    const hsts = await cli(paas, ['certs:hsts', 'on', '--max-age', '600', '-a', 'tls-set']);
    expect(hsts.stdout).toContain('HSTS on (max-age 600)');
    expect(await certs('tls-set')).toMatchObject({ redirect: false, hsts_max_age: 600 });
    await cli(paas, ['certs:hsts', 'off', '-a', 'tls-set']);
    await cli(paas, ['certs:redirect', 'on', '-a', 'tls-set']);
    expect(await certs('tls-set')).toMatchObject({ redirect: true, hsts_max_age: 0, auto: false });
    const bad = await cli(paas, ['certs:redirect', 'yes', '-a', 'tls-set']);
    expect(bad.stderr).toContain('"yes" is neither on nor off');
    expect(await apiCall(paas, 'PATCH', '/v1/apps/tls-set/tls', { redirect: 'yes' })).toMatchObject({ status: 422, json: { id: 'invalid_params' } });
    expect((await cli(paas, ['certs:auto:disable', '-a', 'tls-set'])).stdout).toContain('automatic certificates off');
  });
});

/** An app that answers with the Host and X-Forwarded-Proto it got. */
const protoApp: Record<string, string> = {
  Procfile: 'web: exec node server.js\n',
  'server.js': "require('http').createServer((q, s) => s.end(q.headers.host + ' ' + q.headers['x-forwarded-proto'])).listen(process.env.PORT);\nprocess.on('SIGTERM', () => process.exit(0));\n",
};

describe('serving HTTPS', () => {
  it('serves an uploaded certificate by SNI, the default wildcard for <app>.<PAAS_DOMAIN>, redirects plain HTTP and adds HSTS when asked', async () => {
    await createApp(paas, 'tls-sni');
    const pushed = await push(paas, await gitRepo(paas, protoApp), 'tls-sni');
    expect(pushed.code, pushed.stderr).toBe(0);
    expect((await cli(paas, ['domains:add', 'shop.sni.test', '-a', 'tls-sni'])).code).toBe(0);
    // No certificate for the custom domain yet: plain HTTP serves it, with no redirect.
    expect(await viaRouter(paas, 'shop.sni.test')).toMatchObject({ status: 200, body: 'shop.sni.test http' });
    const made = selfSignedCert(['shop.sni.test']);
    expect((await cli(paas, ['certs:add', made.certFile, made.keyFile, '-a', 'tls-sni'])).code).toBe(0);
    await vi.waitFor(async () => expect(await viaRouterTls(paas, 'shop.sni.test', '/', { ca: made.cert })).toMatchObject({ status: 200, body: 'shop.sni.test https' }), { timeout: 10_000, interval: 100 });
    // The default name goes with the operator's wildcard, checked against that certificate alone.
    expect(await viaRouterTls(paas, 'tls-sni.paas.test', '/', { ca: wildcard.cert })).toMatchObject({ status: 200, body: 'tls-sni.paas.test https' });
    // Redirect is on by default once a certificate exists.
    const plain = await viaRouter(paas, 'shop.sni.test', '/a?b=1');
    expect(plain.status).toBe(308);
    expect(plain.headers.location).toBe(`https://shop.sni.test:${paas.routerTlsPort}/a?b=1`);
    await cli(paas, ['certs:hsts', 'on', '--max-age', '600', '-a', 'tls-sni']);
    await vi.waitFor(async () => expect((await viaRouterTls(paas, 'shop.sni.test', '/', { ca: made.cert })).headers['strict-transport-security']).toBe('max-age=600'), { timeout: 10_000, interval: 100 });
    await cli(paas, ['certs:redirect', 'off', '-a', 'tls-sni']);
    await vi.waitFor(async () => expect(await viaRouter(paas, 'shop.sni.test')).toMatchObject({ status: 200, body: 'shop.sni.test http' }), { timeout: 10_000, interval: 100 });
    // Removed, the certificate is no longer served: the handshake for its name fails.
    await cli(paas, ['certs:remove', 'shop.sni.test', '-a', 'tls-sni']);
    await vi.waitFor(async () => expect(viaRouterTls(paas, 'shop.sni.test', '/', { ca: made.cert })).rejects.toThrow(), { timeout: 10_000, interval: 100 });
  });
});
