// The router's HTTPS side in-process (router/tls-front.ts, tls-store.ts), with real TLS over
// loopback and certificates from a CA the test makes with openssl: SNI, the TLS floor, forwarding
// headers, redirects, HSTS, and ACME's two challenges as a CA would make them.
import fs from 'node:fs';
import tls from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/paas.js';
import { type Leaf, makeLeaf, makeTestCa } from './helpers/pki.js';
import { TestTable } from './helpers/route-table.js';
import { backend, listen, startRouter } from './helpers/router.js';
import { fingerprintOf, handshake, request } from './helpers/tls-client.js';
import { onCleanup } from './helpers/cleanup.js';
import { PROTOCOL_VERSION, type TlsCertificate } from '../router/protocol.js';

describe('router over HTTPS', () => {
  let ca = '';
  let wildcard: Leaf;
  let shop: Leaf;
  let other: Leaf;
  let challenge: Leaf;
  let dir = '';

  beforeAll(() => {
    dir = tempDir('paas-tls-');
    ca = fs.readFileSync(makeTestCa(dir).caFile, 'utf8');
    wildcard = makeLeaf(dir, 'wild', ['*.apps.test']);
    shop = makeLeaf(dir, 'shop', ['www.shop.test']);
    other = makeLeaf(dir, 'other', ['www.shop.test']);
    challenge = makeLeaf(dir, 'alpn', ['new.shop.test']);
  });

  /** A router with `app` (its dyno echoes the forwarding headers) at app.apps.test, www.shop.test and plain.test. */
  async function setUp(tlsOpts?: { redirect: boolean; hstsMaxAge?: number }) {
    const dyno = await backend((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ url: req.url, proto: req.headers['x-forwarded-proto'], port: req.headers['x-forwarded-port'], host: req.headers.host }));
    });
    const table = new TestTable();
    // A wildcard needs two labels under it for a client to accept it: not *.localhost.
    table.routes.apply({ type: 'snapshot', version: PROTOCOL_VERSION, domain: 'apps.test', apps: [] });
    table.set('app', { kind: 'ok', targets: [dyno] }, { domains: ['www.shop.test', 'plain.test'], tls: tlsOpts });
    const certs = (list: TlsCertificate[]) => table.routes.apply({ type: 'certs', certs: list });
    certs([
      { id: 'default', hostnames: ['*.apps.test'], ...wildcard },
      { id: 'c1', hostnames: ['www.shop.test'], ...shop },
    ]);
    const r = await startRouter(table);
    const tlsPort = await listen(r.router.tlsServer);
    return { ...r, tlsPort, table, certs };
  }

  it('picks the certificate by SNI: exact, then one-level wildcard; an unknown name is refused with unrecognized_name', async () => {
    const { tlsPort } = await setUp();
    expect((await handshake(tlsPort, 'www.shop.test', { ca, rejectUnauthorized: true })).fingerprint).toBe(fingerprintOf(shop.cert));
    expect((await handshake(tlsPort, 'app.apps.test', { ca, rejectUnauthorized: true })).fingerprint).toBe(fingerprintOf(wildcard.cert));
    // One level only: a.b.apps.test is not *.apps.test.
    await expect(handshake(tlsPort, 'a.b.apps.test')).rejects.toMatchObject({ code: 'ERR_SSL_TLSV1_UNRECOGNIZED_NAME' });
    await expect(handshake(tlsPort, 'plain.test')).rejects.toMatchObject({ code: 'ERR_SSL_TLSV1_UNRECOGNIZED_NAME' });
    // ALPN says HTTP/1.1.
    expect((await handshake(tlsPort, 'www.shop.test', { ALPNProtocols: ['h2', 'http/1.1'] })).alpn).toBe('http/1.1');
  });

  it('refuses TLS 1.1 (which this client does speak, as a server of its own shows) and serves TLS 1.2 and 1.3', async () => {
    const { tlsPort } = await setUp();
    const old = { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' } as const;
    const legacy = tls.createServer({ ...shop, minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' }, (s) => s.end());
    onCleanup(() => legacy.close());
    expect((await handshake(await listen(legacy), 'www.shop.test', old)).fingerprint).toBe(fingerprintOf(shop.cert));
    await expect(handshake(tlsPort, 'www.shop.test', old)).rejects.toThrow(/protocol version|unsupported protocol/i);
    for (const v of ['TLSv1.2', 'TLSv1.3'] as const) expect((await handshake(tlsPort, 'www.shop.test', { minVersion: v, maxVersion: v })).fingerprint).toBe(fingerprintOf(shop.cert));
  });

  it('hands the dyno X-Forwarded-Proto https and X-Forwarded-Port, the TLS port; plain HTTP still says http', async () => {
    const { tlsPort, port } = await setUp();
    const secure = await request(tlsPort, 'www.shop.test', '/p?q=1', ca);
    expect(JSON.parse(secure.body)).toEqual({ url: '/p?q=1', proto: 'https', port: String(tlsPort), host: 'www.shop.test' });
    expect(JSON.parse((await request(tlsPort, 'app.apps.test', '/', ca)).body)).toMatchObject({ proto: 'https' });
    expect(JSON.parse((await request(port, 'www.shop.test')).body)).toMatchObject({ proto: 'http', port: String(port) });
  });

  it('redirects plain HTTP with 308 to HTTPS, path and query kept, for hostnames with a certificate, never a challenge path', async () => {
    const { tlsPort, port, table } = await setUp({ redirect: true });
    const moved = await request(port, 'www.shop.test:80', '/a/b?c=d&e');
    expect(moved.status).toBe(308);
    expect(moved.headers.location).toBe(`https://www.shop.test:${tlsPort}/a/b?c=d&e`);
    expect((await request(port, 'app.apps.test', '/x')).headers.location).toBe(`https://app.apps.test:${tlsPort}/x`);
    // No certificate for plain.test: served over HTTP, as before.
    expect(JSON.parse((await request(port, 'plain.test', '/')).body)).toMatchObject({ proto: 'http' });
    // An ACME path with no challenge in flight goes to the app, not to HTTPS.
    expect((await request(port, 'www.shop.test', '/.well-known/acme-challenge/unknown')).status).toBe(200);
    // Followed, the redirect lands on the app.
    expect((await request(tlsPort, 'www.shop.test', '/a/b?c=d&e', ca)).status).toBe(200);
    // Redirect off: plain HTTP is served.
    table.set('app', { kind: 'unavailable' }, { domains: ['www.shop.test'], tls: { redirect: false } });
    expect((await request(port, 'www.shop.test', '/')).status).toBe(503);
  });

  it('adds Strict-Transport-Security to HTTPS responses of an app that asks, and only over HTTPS', async () => {
    const withHsts = await setUp({ redirect: false, hstsMaxAge: 31536000 });
    expect((await request(withHsts.tlsPort, 'www.shop.test', '/', ca)).headers['strict-transport-security']).toBe('max-age=31536000');
    expect((await request(withHsts.port, 'www.shop.test', '/')).headers['strict-transport-security']).toBeUndefined();
    const without = await setUp({ redirect: false });
    expect((await request(without.tlsPort, 'www.shop.test', '/', ca)).headers['strict-transport-security']).toBeUndefined();
  });

  it('answers an HTTP-01 challenge on plain HTTP for any Host, ahead of redirects; an unknown token goes on to the app', async () => {
    const { port, table } = await setUp({ redirect: true });
    table.routes.apply({ type: 'challenges', http01: { tok123: 'tok123.thumbprint' }, tlsAlpn01: [] });
    for (const host of ['www.shop.test', 'not-an-app.example', 'app.apps.test']) {
      const r = await request(port, host, '/.well-known/acme-challenge/tok123');
      expect(r).toMatchObject({ status: 200, body: 'tok123.thumbprint' });
      expect(r.headers['content-type']).toMatch(/^text\/plain/);
    }
    expect((await request(port, 'not-an-app.example', '/.well-known/acme-challenge/other')).status).toBe(404);
    table.routes.apply({ type: 'challenges', http01: {}, tlsAlpn01: [] });
    expect((await request(port, 'not-an-app.example', '/.well-known/acme-challenge/tok123')).status).toBe(404);
  });

  it('presents the TLS-ALPN-01 challenge certificate to an acme-tls/1 handshake and closes; others get the usual one', async () => {
    const { tlsPort, table } = await setUp();
    table.routes.apply({ type: 'challenges', http01: {}, tlsAlpn01: [{ hostname: 'new.shop.test', ...challenge }, { hostname: 'www.shop.test', ...challenge }] });
    const acme = await handshake(tlsPort, 'new.shop.test', { ALPNProtocols: ['acme-tls/1'] });
    expect(acme).toMatchObject({ fingerprint: fingerprintOf(challenge.cert), alpn: 'acme-tls/1' });
    expect(await acme.closed).toBe(true);
    // The name being validated has no certificate yet: without acme-tls/1 it is refused.
    await expect(handshake(tlsPort, 'new.shop.test', { ALPNProtocols: ['http/1.1'] })).rejects.toMatchObject({ code: 'ERR_SSL_TLSV1_UNRECOGNIZED_NAME' });
    // A renewal: browsers still get the current certificate while the CA validates.
    expect((await handshake(tlsPort, 'www.shop.test', { ALPNProtocols: ['http/1.1'] })).fingerprint).toBe(fingerprintOf(shop.cert));
    expect((await handshake(tlsPort, 'www.shop.test', { ALPNProtocols: ['acme-tls/1'] })).fingerprint).toBe(fingerprintOf(challenge.cert));
  });

  it('takes new certificates at run time: new handshakes get them, a removed one is refused, a broken one is skipped', async () => {
    const { tlsPort, certs } = await setUp();
    expect((await handshake(tlsPort, 'www.shop.test')).fingerprint).toBe(fingerprintOf(shop.cert));
    certs([{ id: 'c1', hostnames: ['www.shop.test'], ...other }]);
    expect((await handshake(tlsPort, 'www.shop.test')).fingerprint).toBe(fingerprintOf(other.cert));
    await expect(handshake(tlsPort, 'app.apps.test')).rejects.toMatchObject({ code: 'ERR_SSL_TLSV1_UNRECOGNIZED_NAME' });
    // A key that is not the certificate's: that one is left out, the others still load.
    certs([
      { id: 'bad', hostnames: ['app.apps.test'], cert: wildcard.cert, key: shop.key },
      { id: 'c1', hostnames: ['www.shop.test'], ...shop },
    ]);
    await expect(handshake(tlsPort, 'app.apps.test')).rejects.toMatchObject({ code: 'ERR_SSL_TLSV1_UNRECOGNIZED_NAME' });
    expect((await handshake(tlsPort, 'www.shop.test')).fingerprint).toBe(fingerprintOf(shop.cert));
  });
});
