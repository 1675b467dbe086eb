// Issue 8, network slice: the router's failure paths.
// Everything runs for real: the compiled server, git pushes, requests through the router.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crashingApp } from '../helpers/fixtures.js';
import { apiCall, gitRepo, type Paas, push, startPaas, viaRouter } from '../helpers/paas.js';

interface Outcome {
  status?: number;
  body: string;
  /** Whether the whole body arrived; false when the connection was cut mid-body. */
  complete: boolean;
  error?: string;
}

/** A GET through the router that reports how it ended instead of throwing; given up after `limitMs`. */
function outcome(paas: Paas, host: string, urlPath: string, limitMs = 10_000): Promise<Outcome> {
  return new Promise((resolve) => {
    let body = '';
    const req = http.get({ host: '127.0.0.1', port: paas.routerPort, path: urlPath, headers: { host }, agent: false }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('error', () => undefined);
      res.on('close', () => (clearTimeout(timer), resolve({ status: res.statusCode, body, complete: res.complete })));
    });
    const timer = setTimeout(() => (resolve({ body, complete: false, error: 'no end within the limit' }), req.destroy()), limitMs);
    req.on('error', (err) => (clearTimeout(timer), resolve({ body, complete: false, error: err.message })));
  });
}

describe('router failure paths', () => {
  let paas: Paas;
  beforeAll(async () => {
    paas = await startPaas({ PAAS_ROUTER_TIMEOUT_MS: '2000' });
    await apiCall(paas, 'POST', '/v1/apps', { name: 'crashy' });
    const pushed = await push(paas, await gitRepo(paas, crashingApp), 'crashy');
    expect(pushed.code, pushed.stderr).toBe(0);
  });
  afterAll(() => paas?.stop());

  it('bounds a dyno that accepts and never answers with a 504 page', async () => {
    const res = await outcome(paas, 'crashy.localhost', '/silent');
    expect(res.error).toBeUndefined();
    expect(res.status).toBe(504);
    expect(res.body).toContain('crashy did not answer within 2 s');
  });

  it('cuts the client off at once when the dyno dies mid-response', async () => {
    const res = await outcome(paas, 'crashy.localhost', '/half');
    expect(res.error ?? '').not.toBe('no end within the limit');
    expect(res.status).toBe(200);
    expect(res.body).toBe('half');
    expect(res.complete).toBe(false);
  });

  it('answers 502 when the dyno dies before its headers', async () => {
    // The crash above restarts the dyno after a backoff; wait for the new one.
    let up = await outcome(paas, 'crashy.localhost', '/');
    for (let i = 0; i < 100 && up.body !== 'ok'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      up = await outcome(paas, 'crashy.localhost', '/');
    }
    expect(up.body).toBe('ok');
    const res = await outcome(paas, 'crashy.localhost', '/die');
    expect(res.status).toBe(502);
    expect(res.body).toContain('crashy did not answer');
  });

  it('escapes the Host it echoes on the 404 page', async () => {
    const res = await viaRouter(paas, '<script>alert(1)</script>.localhost');
    expect(res.status).toBe(404);
    expect(res.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;.localhost');
    expect(res.body).not.toContain('<script>');
  });
});
