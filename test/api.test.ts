import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { apiCall, cli, type Paas, startPaas, viaRouter } from './helpers/paas.js';

let paas: Paas;
// Stopped when the file ends, pass or fail: startPaas registers that itself.
beforeAll(async () => {
  paas = await startPaas();
});

describe('HTTP API', () => {
  it('answers 401 with a JSON error without the right token', async () => {
    const wrong = await apiCall(paas, 'GET', '/v1/apps', undefined, 'not-the-token');
    expect(wrong.status).toBe(401);
    expect(wrong.json).toMatchObject({ id: 'unauthorized', message: expect.stringContaining('paas login') });
    const none = await fetch(`${paas.apiUrl}/v1/apps`);
    expect(none.status).toBe(401);
  });

  it('creates, lists, shows and destroys apps', async () => {
    const created = await apiCall(paas, 'POST', '/v1/apps', { name: 'api-app' });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: 'api-app', release: null, dynos: [], git_url: `${paas.apiUrl}/api-app.git` });
    expect(created.json.web_url).toBe(`http://api-app.localhost:${paas.routerPort}`);
    expect(fs.existsSync(path.join(paas.dataDir, 'repos', 'api-app.git', 'HEAD'))).toBe(true);

    const list = await apiCall(paas, 'GET', '/v1/apps');
    expect(list.json.map((a: { name: string }) => a.name)).toContain('api-app');
    expect((await apiCall(paas, 'GET', '/v1/apps/api-app')).json.name).toBe('api-app');

    const dup = await apiCall(paas, 'POST', '/v1/apps', { name: 'api-app' });
    expect(dup.status).toBe(409);
    expect(dup.json.id).toBe('name_taken');

    // Known app, nothing deployed: the router says 503, not 404.
    expect((await viaRouter(paas, 'api-app.localhost')).status).toBe(503);

    expect((await apiCall(paas, 'DELETE', '/v1/apps/api-app')).status).toBe(204);
    expect((await apiCall(paas, 'GET', '/v1/apps/api-app')).status).toBe(404);
    expect(fs.existsSync(path.join(paas.dataDir, 'repos', 'api-app.git'))).toBe(false);
  });

  it('generates a name when none is given', async () => {
    const r = await apiCall(paas, 'POST', '/v1/apps', {});
    expect(r.status).toBe(201);
    expect(r.json.name).toMatch(/^[a-z]+-[a-z]+-\d{4}$/);
  });

  it.each(['A', 'Upper', '9lives', 'a', 'has_underscore', '../etc', 'x'.repeat(31), 'a b', 'semi;colon'])(
    'refuses the invalid app name %j with 422 and the rule',
    async (name) => {
      const r = await apiCall(paas, 'POST', '/v1/apps', { name });
      expect(r.status).toBe(422);
      expect(r.json).toMatchObject({ id: 'invalid_params', message: expect.stringContaining('lowercase letters') });
      expect((await apiCall(paas, 'GET', '/v1/apps')).json.map((a: { name: string }) => a.name)).not.toContain(name);
    },
  );

  it('answers malformed JSON and unknown routes with JSON errors', async () => {
    const bad = await fetch(`${paas.apiUrl}/v1/apps`, {
      method: 'POST',
      headers: { authorization: `Bearer ${paas.token}`, 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ id: 'bad_request' });
    const missing = await apiCall(paas, 'GET', '/v1/nothing-here');
    expect(missing.status).toBe(404);
    expect(missing.json.id).toBe('not_found');
    expect((await apiCall(paas, 'GET', '/v1/apps/ghost')).json).toMatchObject({ id: 'not_found', message: expect.stringContaining('ghost') });
  });

  it('survives a git request with a corrupt gzip body', async () => {
    await apiCall(paas, 'POST', '/v1/apps', { name: 'gzip-app' });
    await fetch(`${paas.apiUrl}/gzip-app.git/git-receive-pack`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`u:${paas.token}`).toString('base64')}`, 'content-encoding': 'gzip' },
      body: 'this is not gzip',
    }).catch(() => undefined);
    expect((await apiCall(paas, 'GET', '/v1/apps')).status).toBe(200);
  });

  it('answers an unknown host on the router with a 404 page', async () => {
    const r = await viaRouter(paas, 'nope.localhost');
    expect(r.status).toBe(404);
    expect(r.body).toContain('No such app');
    expect((await viaRouter(paas, 'example.com')).status).toBe(404);
  });
});

describe('CLI errors', () => {
  it('prints the API message on stderr and exits non-zero, without a stack trace', async () => {
    const r = await cli(paas, ['apps:create', 'Bad_Name']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Invalid app name');
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
    expect(r.stdout).toBe('');
  });

  it('says how to log in when no token is known', async () => {
    const r = await cli(paas, ['apps'], { env: { PAAS_API_TOKEN: '' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Not logged in');
    expect(r.stderr).not.toContain('Could not reach');
  });

  it('says how to fix an unreachable server', async () => {
    const r = await cli(paas, ['apps'], { env: { PAAS_API_URL: 'http://127.0.0.1:1' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Could not reach the paas server');
  });

  it('refuses a wrong token at login and writes nothing', async () => {
    const r = await cli(paas, ['login', '--token', 'wrong'], { env: { PAAS_API_TOKEN: '' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Invalid credentials');
    expect(fs.existsSync(path.join(paas.home, '.netrc'))).toBe(false);
  });

  it('asks for an app outside a checkout', async () => {
    const r = await cli(paas, ['apps:info']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('-a APP');
  });
});
