// The REST API is for the CLI and routers, not for web pages of other sites: a browser attaches
// credentials it cached (Basic) and an Origin on its own, so /v1 refuses cross-site requests and
// takes the token only as Bearer. Plain HTTP through node:http, so every header is exactly as set.
import http from 'node:http';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, type Paas, startPaas } from '../helpers/paas.js';

let paas: Paas;
beforeAll(async () => {
  paas = await startPaas();
});

async function request(method: string, urlPath: string, headers: Record<string, string>, body?: string): Promise<{ status: number; json: { id?: string; message?: string } | undefined }> {
  const url = new URL(urlPath, paas.apiUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: String(res.headers['content-type']).startsWith('application/json') ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const bearer = () => ({ authorization: `Bearer ${paas.token}` });
const basic = () => ({ authorization: `Basic ${Buffer.from(`paas:${paas.token}`).toString('base64')}` });

describe('/v1 and browsers', () => {
  it('refuses an Origin of another site with 403 and says what to do, before anything is done', async () => {
    for (const origin of ['http://evil.example', 'null', `http://127.0.0.1:1`, 'http://localhost.evil.example']) {
      const r = await request('POST', '/v1/apps', { ...bearer(), origin }, JSON.stringify({ name: 'from-a-page' }));
      expect(r.status, origin).toBe(403);
      expect(r.json).toMatchObject({ id: 'forbidden', message: expect.stringContaining('paas CLI') });
    }
    expect((await request('GET', '/v1/apps', { ...bearer(), origin: 'http://evil.example' })).status).toBe(403);
    const list = await request('GET', '/v1/apps/from-a-page', bearer());
    expect(list.status).toBe(404);
  });

  it('refuses Sec-Fetch-Site cross-site and same-site, with or without an Origin', async () => {
    for (const site of ['cross-site', 'same-site']) {
      const r = await request('GET', '/v1/apps', { ...bearer(), 'sec-fetch-site': site });
      expect(r.status, site).toBe(403);
      expect(r.json?.id).toBe('forbidden');
    }
  });

  it("accepts no Origin (the CLI) and the API's own origin (a dashboard it would serve itself)", async () => {
    expect((await request('GET', '/v1/apps', bearer())).status).toBe(200);
    const own = new URL(paas.apiUrl).origin;
    const created = await request('POST', '/v1/apps', { ...bearer(), origin: own, 'sec-fetch-site': 'same-origin' }, JSON.stringify({ name: 'own-origin' }));
    expect(created.status).toBe(201);
    expect((await cli(paas, ['apps'])).stdout).toContain('own-origin');
  });

  it('takes the token only as Bearer on /v1: Basic auth is for git routes', async () => {
    const r = await request('GET', '/v1/apps', basic());
    expect(r.status).toBe(401);
    expect(r.json?.id).toBe('unauthorized');
    // git's routes still take Basic (git sends nothing else): the info/refs of an existing app answers.
    await request('POST', '/v1/apps', bearer(), JSON.stringify({ name: 'basic-git' }));
    expect((await request('GET', '/basic-git.git/info/refs?service=git-receive-pack', basic())).status).toBe(200);
    expect((await request('GET', '/basic-git.git/info/refs?service=git-receive-pack', {})).status).toBe(401);
  });
});
