// Custom domains and maintenance mode, end to end: the API's rules and errors, the CLI, a server
// restart, and requests through the router with a custom Host header.
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Domain, Dyno } from '../cli/types.js';
import { apiCall, cli, createApp, gitRepo, type Paas, push, startPaas, viaRouter } from './helpers/paas.js';

let paas: Paas;
// Stopped when the file ends, pass or fail: startPaas registers that itself.
beforeAll(async () => {
  paas = await startPaas();
});

/** A Procfile-only app (no install step, so the push is quick) that answers with the Host it got. */
const hostApp: Record<string, string> = {
  Procfile: 'web: exec node server.js\n',
  'server.js': "require('http').createServer((q, s) => s.end('hello from ' + q.headers.host)).listen(process.env.PORT);\nprocess.on('SIGTERM', () => process.exit(0));\n",
};

async function deploy(server: Paas, app: string): Promise<void> {
  await createApp(server, app);
  const r = await push(server, await gitRepo(server, hostApp), app);
  expect(r.code, r.stderr).toBe(0);
}

/** The router's status for `host`, once it is `status`: routers may learn of a change a moment later. */
async function routerAnswers(server: Paas, host: string, status: number): Promise<string> {
  let body = '';
  await vi.waitFor(
    async () => {
      const r = await viaRouter(server, host);
      body = r.body;
      expect(r.status, `${host}: ${r.body}`).toBe(status);
    },
    { timeout: 10_000, interval: 100 },
  );
  return body;
}

async function psJson(app: string, server = paas): Promise<Dyno[]> {
  const r = await cli(server, ['ps', '-a', app, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Dyno[];
}

describe('domains API', () => {
  it('adds, lists and removes a custom domain; adding it again changes nothing', async () => {
    await createApp(paas, 'dom-api');
    const added = await apiCall(paas, 'POST', '/v1/apps/dom-api/domains', { hostname: 'WWW.Example.COM.' });
    expect(added.status).toBe(201);
    expect(added.json).toMatchObject({ hostname: 'www.example.com', kind: 'custom', created_at: expect.any(String) });
    const again = await apiCall(paas, 'POST', '/v1/apps/dom-api/domains', { hostname: 'www.example.com' });
    expect(again.status).toBe(200);
    expect(again.json).toEqual(added.json);

    const list = await apiCall(paas, 'GET', '/v1/apps/dom-api/domains');
    expect(list.json).toEqual([
      { hostname: 'dom-api.localhost', kind: 'default', created_at: expect.any(String) },
      { hostname: 'www.example.com', kind: 'custom', created_at: added.json.created_at },
    ]);

    expect((await apiCall(paas, 'DELETE', '/v1/apps/dom-api/domains/www.example.com')).status).toBe(204);
    const gone = await apiCall(paas, 'DELETE', '/v1/apps/dom-api/domains/www.example.com');
    expect(gone.status).toBe(404);
    expect(gone.json).toMatchObject({ id: 'not_found', message: expect.stringContaining('paas domains -a dom-api') });
    const builtIn = await apiCall(paas, 'DELETE', '/v1/apps/dom-api/domains/dom-api.localhost');
    expect(builtIn.status).toBe(422);
    expect(builtIn.json.message).toContain('default domain');
    expect((await apiCall(paas, 'GET', '/v1/apps/dom-api/domains')).json).toHaveLength(1);
  });

  it('refuses a hostname another app has with 409 domain_taken, saying how to free it', async () => {
    await createApp(paas, 'dom-first');
    await createApp(paas, 'dom-second');
    expect((await apiCall(paas, 'POST', '/v1/apps/dom-first/domains', { hostname: 'shop.example.net' })).status).toBe(201);
    const taken = await apiCall(paas, 'POST', '/v1/apps/dom-second/domains', { hostname: 'Shop.example.net' });
    expect(taken.status).toBe(409);
    expect(taken.json).toMatchObject({ id: 'domain_taken', message: expect.stringContaining('already in use') });
    expect(taken.json.message).toContain('paas domains:remove shop.example.net -a dom-first');
    // Removing it from the app that does not have it is a 404 that says where it is.
    const wrong = await apiCall(paas, 'DELETE', '/v1/apps/dom-second/domains/shop.example.net');
    expect(wrong.status).toBe(404);
    expect(wrong.json.message).toContain('dom-first has it');
  });

  it('accepts one wildcard level, and an exact name under it for another app', async () => {
    await createApp(paas, 'dom-wild');
    const wild = await apiCall(paas, 'POST', '/v1/apps/dom-wild/domains', { hostname: '*.wild.example' });
    expect(wild.status).toBe(201);
    expect(wild.json.hostname).toBe('*.wild.example');
    await createApp(paas, 'dom-exact');
    expect((await apiCall(paas, 'POST', '/v1/apps/dom-exact/domains', { hostname: 'www.wild.example' })).status).toBe(201);
    expect((await apiCall(paas, 'DELETE', `/v1/apps/dom-wild/domains/${encodeURIComponent('*.wild.example')}`)).status).toBe(204);
  });

  describe('invalid hostnames', () => {
    beforeAll(() => createApp(paas, 'dom-invalid'));

    it.each([
      ['../etc', 'letters, digits or dashes'],
      ['a..b.com', 'letters, digits or dashes'],
      ['-a.example.com', 'letters, digits or dashes'],
      ['a_b.example.com', 'letters, digits or dashes'],
      ['a b.example.com', 'letters, digits or dashes'],
      [`${'x'.repeat(64)}.example.com`, 'letters, digits or dashes'],
      [`${'abcdefghi.'.repeat(26)}com`, 'at most 253'],
      ['*.*.example.com', 'leftmost label'],
      ['www.*.example.com', 'leftmost label'],
      ['*example.com', 'letters, digits or dashes'],
      ['*.com', 'at least two labels after it'],
      ['example', 'single label'],
      ['foo.localhost', "apps' default names"],
      ['*.foo.localhost', "apps' default names"],
      ['1.2.3.4', 'IP address'],
      ['[::1]', 'IP address'],
      ['1.2.3', 'all digits'],
      ['example.com:80', 'no port'],
      ['', 'Send {"hostname"'],
      [42, 'Send {"hostname"'],
    ])('refuses the hostname %j with 422 and the rule it breaks', async (hostname, rule) => {
      const r = await apiCall(paas, 'POST', '/v1/apps/dom-invalid/domains', { hostname });
      expect(r.status).toBe(422);
      expect(r.json).toMatchObject({ id: 'invalid_params', message: expect.stringContaining(rule) });
      expect((await apiCall(paas, 'GET', '/v1/apps/dom-invalid/domains')).json).toHaveLength(1);
    });
  });

  it('answers 404 for an unknown app', async () => {
    for (const [method, path, body] of [
      ['GET', '/v1/apps/ghost/domains'],
      ['POST', '/v1/apps/ghost/domains', { hostname: 'ghost.example.com' }],
      ['DELETE', '/v1/apps/ghost/domains/ghost.example.com'],
      ['PATCH', '/v1/apps/ghost', { maintenance: true }],
    ] as const) {
      const r = await apiCall(paas, method, path, body);
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.json).toMatchObject({ id: 'not_found', message: expect.stringContaining('paas apps') });
    }
  });

  it('frees the hostnames of a destroyed app for another', async () => {
    await createApp(paas, 'dom-doomed');
    await apiCall(paas, 'POST', '/v1/apps/dom-doomed/domains', { hostname: 'reused.example.com' });
    expect((await cli(paas, ['apps:destroy', 'dom-doomed', '--confirm', 'dom-doomed'])).code).toBe(0);
    await createApp(paas, 'dom-heir');
    expect((await apiCall(paas, 'POST', '/v1/apps/dom-heir/domains', { hostname: 'reused.example.com' })).status).toBe(201);
    // A new app of the old name starts with none.
    await createApp(paas, 'dom-doomed');
    expect((await apiCall(paas, 'GET', '/v1/apps/dom-doomed/domains')).json).toHaveLength(1);
  });

  it('switches maintenance with PATCH /v1/apps/:name and shows it in the app', async () => {
    await createApp(paas, 'dom-maint');
    expect((await apiCall(paas, 'GET', '/v1/apps/dom-maint')).json.maintenance).toBe(false);
    const on = await apiCall(paas, 'PATCH', '/v1/apps/dom-maint', { maintenance: true });
    expect(on.status).toBe(200);
    expect(on.json).toMatchObject({ name: 'dom-maint', maintenance: true });
    expect((await apiCall(paas, 'GET', '/v1/apps/dom-maint')).json.maintenance).toBe(true);
    for (const body of [{}, { maintenance: 'yes' }, { maintenance: true, name: 'other' }, []]) {
      const bad = await apiCall(paas, 'PATCH', '/v1/apps/dom-maint', body);
      expect(bad.status, JSON.stringify(body)).toBe(422);
      expect(bad.json.message).toContain('{"maintenance": true}');
    }
    expect((await apiCall(paas, 'PATCH', '/v1/apps/dom-maint', { maintenance: false })).json.maintenance).toBe(false);
  });
});

describe('domains and maintenance CLI', () => {
  it('adds, lists and removes domains, with errors on stderr', async () => {
    await createApp(paas, 'dom-cli');
    const add = await cli(paas, ['domains:add', 'Www.Example.org', '-a', 'dom-cli']);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toContain('www.example.org routes to dom-cli');
    expect((await cli(paas, ['domains:add', '*.example.org', '-a', 'dom-cli'])).code).toBe(0);

    const list = await cli(paas, ['domains', '-a', 'dom-cli']);
    expect(list.stdout).toBe('dom-cli.localhost\nwww.example.org\n*.example.org\n');
    const json = JSON.parse((await cli(paas, ['domains', '-a', 'dom-cli', '--json'])).stdout) as Domain[];
    expect(json.map((d) => [d.hostname, d.kind])).toEqual([
      ['dom-cli.localhost', 'default'],
      ['www.example.org', 'custom'],
      ['*.example.org', 'custom'],
    ]);

    const bad = await cli(paas, ['domains:add', 'a..b.com', '-a', 'dom-cli']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('"a..b.com" cannot be a custom domain');
    expect(bad.stdout).toBe('');
    await createApp(paas, 'dom-cli-other');
    const taken = await cli(paas, ['domains:add', 'www.example.org', '-a', 'dom-cli-other']);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('paas domains:remove www.example.org -a dom-cli');

    const remove = await cli(paas, ['domains:remove', '*.example.org', '-a', 'dom-cli']);
    expect(remove.code, remove.stderr).toBe(0);
    expect(remove.stdout).toBe('Removed *.example.org from dom-cli\n');
    const again = await cli(paas, ['domains:remove', '*.example.org', '-a', 'dom-cli']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('dom-cli has no domain *.example.org');
  });

  it('turns maintenance on and off, as maintenance and apps:info show', async () => {
    await createApp(paas, 'dom-cli-maint');
    const maintenance = async (...flags: string[]) => (await cli(paas, ['maintenance', '-a', 'dom-cli-maint', ...flags])).stdout;
    expect(await maintenance()).toBe('off\n');
    const on = await cli(paas, ['maintenance:on', '-a', 'dom-cli-maint']);
    expect(on.code, on.stderr).toBe(0);
    expect(on.stdout).toContain('Maintenance mode is on for dom-cli-maint');
    expect(on.stderr).toBe(''); // progress is for a TTY only
    expect(await maintenance()).toBe('on\n');
    expect(JSON.parse(await maintenance('--json'))).toEqual({ maintenance: true });
    const info = await cli(paas, ['apps:info', '-a', 'dom-cli-maint', '--json']);
    expect(JSON.parse(info.stdout)).toMatchObject({ name: 'dom-cli-maint', maintenance: true });
    expect((await cli(paas, ['apps:info', '-a', 'dom-cli-maint'])).stdout).toMatch(/^Maintenance: +on$/m);
    expect((await cli(paas, ['maintenance:off', '-a', 'dom-cli-maint'])).code).toBe(0);
    expect(JSON.parse(await maintenance('--json'))).toEqual({ maintenance: false });
    const ghost = await cli(paas, ['maintenance:on', '-a', 'ghost']);
    expect(ghost.code).toBe(1);
    expect(ghost.stderr).toContain("Couldn't find that app");
  });
});

describe('through the router', () => {
  it('routes a custom domain and one wildcard level to the app, and stops when it is removed', async () => {
    await deploy(paas, 'dom-routed');
    expect(await routerAnswers(paas, 'www.example.com', 404)).toContain('No such app');
    expect((await cli(paas, ['domains:add', 'www.example.com', '-a', 'dom-routed'])).code).toBe(0);
    expect(await routerAnswers(paas, 'www.example.com', 200)).toBe('hello from www.example.com');
    expect(await routerAnswers(paas, 'WWW.example.com.:80', 200)).toBe('hello from WWW.example.com.:80');
    expect(await routerAnswers(paas, 'dom-routed.localhost', 200)).toBe('hello from dom-routed.localhost');

    expect((await cli(paas, ['domains:add', '*.apps.example.com', '-a', 'dom-routed'])).code).toBe(0);
    expect(await routerAnswers(paas, 'a.apps.example.com', 200)).toBe('hello from a.apps.example.com');
    await routerAnswers(paas, 'a.b.apps.example.com', 404);
    await routerAnswers(paas, 'apps.example.com', 404);

    expect((await cli(paas, ['domains:remove', 'www.example.com', '-a', 'dom-routed'])).code).toBe(0);
    await routerAnswers(paas, 'www.example.com', 404);
    await routerAnswers(paas, 'a.apps.example.com', 200);
  });

  it('answers 503 in maintenance mode while the dynos keep running, and routes again when it ends', async () => {
    await deploy(paas, 'dom-paused');
    await cli(paas, ['domains:add', 'paused.example.com', '-a', 'dom-paused']);
    await routerAnswers(paas, 'paused.example.com', 200);
    const before = await psJson('dom-paused');
    expect(before).toEqual([expect.objectContaining({ name: 'web.1', state: 'up' })]);

    expect((await cli(paas, ['maintenance:on', '-a', 'dom-paused'])).code).toBe(0);
    for (const host of ['paused.example.com', 'dom-paused.localhost']) {
      const page = await routerAnswers(paas, host, 503);
      expect(page).toContain('Down for maintenance');
      expect(page).toContain('H80');
    }
    expect(await psJson('dom-paused')).toEqual(before);
    // No release for either switch, as on Heroku.
    expect((await apiCall(paas, 'GET', '/v1/apps/dom-paused/releases')).json).toHaveLength(1);

    expect((await cli(paas, ['maintenance:off', '-a', 'dom-paused'])).code).toBe(0);
    expect(await routerAnswers(paas, 'paused.example.com', 200)).toBe('hello from paused.example.com');
    expect(await psJson('dom-paused')).toEqual(before);
  });

  it('keeps domains and maintenance across a server restart', async () => {
    const first = await startPaas();
    await deploy(first, 'dom-kept');
    await cli(first, ['domains:add', 'kept.example.com', '-a', 'dom-kept']);
    await cli(first, ['maintenance:on', '-a', 'dom-kept']);
    expect(await routerAnswers(first, 'kept.example.com', 503)).toContain('Down for maintenance');
    expect(await first.stop()).toBe(0);

    const again = await startPaas({ PAAS_DATA_DIR: first.dataDir, PAAS_API_TOKEN: first.token });
    expect((await cli(again, ['domains', '-a', 'dom-kept'])).stdout).toBe('dom-kept.localhost\nkept.example.com\n');
    expect(JSON.parse((await cli(again, ['maintenance', '-a', 'dom-kept', '--json'])).stdout)).toEqual({ maintenance: true });
    // Routed from the start (an unknown host is a 404), and in maintenance, before and after the dyno is back.
    expect(await routerAnswers(again, 'kept.example.com', 503)).toContain('H80');
    await vi.waitFor(async () => expect(await psJson('dom-kept', again)).toEqual([expect.objectContaining({ state: 'up' })]), { timeout: 10_000, interval: 200 });
    expect(await routerAnswers(again, 'kept.example.com', 503)).toContain('H80');
    expect((await cli(again, ['maintenance:off', '-a', 'dom-kept'])).code).toBe(0);
    expect(await routerAnswers(again, 'kept.example.com', 200)).toBe('hello from kept.example.com');
  });
});
