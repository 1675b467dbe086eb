// The dashboard's files on the API port (issue 27): index.html for any page the browser asks for
// (not cached), the hashed assets (cached for a year, gzipped from the build's .gz sibling or here),
// the security headers on both, a 503 that says to build when it is not built, and /v1 and git's
// routes as they were. A placeholder dashboard in a temp dir (PAAS_DASHBOARD_DIR), a real server.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Paas, startPaas, tempDir } from './helpers/paas.js';

let paas: Paas;
let dir: string;
const INDEX = '<!doctype html><title>paas</title><script type="module" src="/assets/app-abc123.js"></script>';
const JS = 'console.log("the dashboard");\n'.repeat(50);
const CSS = 'body { margin: 0 }\n'.repeat(50);
// The build's sibling, told apart from what the server would make of JS itself.
const JS_GZ_MARK = '/* from the .gz sibling */';

beforeAll(async () => {
  dir = tempDir('paas-dashboard-');
  fs.mkdirSync(path.join(dir, 'assets'));
  fs.writeFileSync(path.join(dir, 'index.html'), INDEX);
  fs.writeFileSync(path.join(dir, 'assets', 'app-abc123.js'), JS);
  fs.writeFileSync(path.join(dir, 'assets', 'app-abc123.js.gz'), zlib.gzipSync(JS_GZ_MARK + JS));
  fs.writeFileSync(path.join(dir, 'assets', 'app-abc123.css'), CSS);
  paas = await startPaas({ PAAS_DASHBOARD_DIR: dir });
});

/** A raw GET (node:http, so no client decompresses or adds headers behind our back). */
function get(urlPath: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(urlPath, paas.apiUrl), { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const HTML = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

function expectDashboardHeaders(headers: http.IncomingHttpHeaders): void {
  expect(headers['content-security-policy']).toBe("default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['referrer-policy']).toBe('no-referrer');
}

describe('the dashboard on the API port', () => {
  it('serves index.html, not cached, with its security headers, for / and any page of the dashboard', async () => {
    for (const page of ['/', '/apps/shop/logs', '/apps']) {
      const r = await get(page, HTML);
      expect(r.status, page).toBe(200);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.headers['cache-control']).toBe('no-cache');
      expectDashboardHeaders(r.headers);
      expect(r.body.toString()).toBe(INDEX);
    }
    const head = await get('/', HTML, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
  });

  it('serves the assets cached for a year: the build’s .gz sibling when gzip is accepted, gzipped here without one, plain otherwise', async () => {
    const js = await get('/assets/app-abc123.js', { 'accept-encoding': 'gzip, deflate, br' });
    expect(js.status).toBe(200);
    expect(js.headers['content-encoding']).toBe('gzip');
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.headers.vary).toMatch(/Accept-Encoding/i);
    expectDashboardHeaders(js.headers);
    expect(zlib.gunzipSync(js.body).toString()).toBe(JS_GZ_MARK + JS);

    const css = await get('/assets/app-abc123.css', { 'accept-encoding': 'gzip' });
    expect(css.headers['content-encoding']).toBe('gzip');
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(zlib.gunzipSync(css.body).toString()).toBe(CSS);
    expect(css.body.length).toBeLessThan(CSS.length / 4);

    const plain = await get('/assets/app-abc123.js');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString()).toBe(JS);
  });

  it('answers a missing asset, a non-HTML request and anything but GET with JSON, not the page', async () => {
    const missing = await get('/assets/app-gone.js', HTML);
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body.toString())).toMatchObject({ id: 'not_found' });
    for (const [urlPath, headers] of [['/assets/.hidden', HTML], ['/favicon.ico', { accept: 'image/*' }], ['/something', { accept: 'application/json' }]] as const) {
      const r = await get(urlPath, headers);
      expect(r.status, urlPath).toBe(404);
      expect(r.headers['content-type'], urlPath).toMatch(/^application\/json/);
    }
    const post = await fetch(`${paas.apiUrl}/`, { method: 'POST', headers: HTML });
    expect(post.status).toBe(404);
  });

  it('leaves /v1 and git’s routes as they were', async () => {
    const bearer = { ...HTML, authorization: `Bearer ${paas.token}` };
    const nope = await get('/v1/nope', bearer);
    expect(nope.status).toBe(404);
    expect(JSON.parse(nope.body.toString())).toMatchObject({ id: 'not_found', message: expect.stringContaining('/v1/nope') });
    const noAuth = await get('/v1/apps', HTML);
    expect(noAuth.status).toBe(401);
    expect(noAuth.headers['content-type']).toMatch(/^application\/json/);
    expect((await get('/v1', bearer)).status).toBe(404);
    expect((await get('/V1/nope', bearer)).headers['content-type']).toMatch(/^application\/json/);
    const git = await get('/shop.git/info/refs?service=git-receive-pack', HTML);
    expect(git.status).toBe(401);
    expect(git.body.toString()).not.toContain('<!doctype html>');
    expect((await get('/shop.git/', HTML)).body.toString()).not.toContain('<!doctype html>');
  });

  it('says to run `npm run build` (503 JSON) while index.html is missing, and serves it again once it is there', async () => {
    fs.renameSync(path.join(dir, 'index.html'), path.join(dir, 'index.html.away'));
    try {
      const r = await get('/apps/shop', HTML);
      expect(r.status).toBe(503);
      expect(JSON.parse(r.body.toString())).toMatchObject({ id: 'dashboard_not_built', message: expect.stringContaining('npm run build') });
    } finally {
      fs.renameSync(path.join(dir, 'index.html.away'), path.join(dir, 'index.html'));
    }
    expect((await get('/', HTML)).status).toBe(200);
  });
});
