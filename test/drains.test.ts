// Log drains end to end: the CLI and API (URL rules, 404s), delivery to an HTTP drain in Heroku's
// logplex framing and to a syslog TCP drain in octet-counted RFC 5424, a dead drain beside live
// ones, and drains still delivering after a server restart. Every receiver is on loopback.
import net from 'node:net';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Drain } from '../cli/types.js';
import { httpReceiver, syslogReceiver, TICK } from './helpers/drain-receivers.js';
import { tickerApp } from './helpers/fixtures.js';
import { apiCall, cli, createApp, gitRepo, type Paas, push, startPaas } from './helpers/paas.js';

let paas: Paas;
beforeAll(async () => {
  paas = await startPaas();
});

/** A loopback port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}


async function drainsOf(server: Paas, app: string): Promise<Drain[]> {
  const r = await cli(server, ['drains', '-a', app, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Drain[];
}

describe('drains CLI and API', () => {
  it('adds, lists (also as JSON) and removes drains by URL; adding one again changes nothing', async () => {
    await createApp(paas, 'drn-cli');
    const https = 'https://user:secret@logs.example.com/drain?x=1';
    const added = await cli(paas, ['drains:add', https, '-a', 'drn-cli']);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/Successfully added drain https:\/\/user:secret@logs\.example\.com\/drain\?x=1 \(d\.[0-9a-f-]{36}\) to drn-cli/);
    expect((await cli(paas, ['drains:add', 'syslog+tcp://logs.example.com:6514', '-a', 'drn-cli'])).code).toBe(0);
    const again = await apiCall(paas, 'POST', '/v1/apps/drn-cli/drains', { url: https });
    expect(again.status).toBe(200);

    const list = await drainsOf(paas, 'drn-cli');
    expect(list).toEqual([
      { id: expect.stringMatching(/^[0-9a-f-]{36}$/), url: https, token: expect.stringMatching(/^d\.[0-9a-f-]{36}$/), created_at: expect.any(String) },
      { id: expect.any(String), url: 'syslog+tcp://logs.example.com:6514', token: expect.any(String), created_at: expect.any(String) },
    ]);
    expect(again.json).toEqual(list[0]);
    expect((await cli(paas, ['drains', '-a', 'drn-cli'])).stdout).toBe(`${https} (${list[0].token})\nsyslog+tcp://logs.example.com:6514 (${list[1].token})\n`);

    const removed = await cli(paas, ['drains:remove', https, '-a', 'drn-cli']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain(`Successfully removed drain ${https} from drn-cli`);
    const gone = await cli(paas, ['drains:remove', https, '-a', 'drn-cli']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('paas drains -a drn-cli');
    // By token too, as Heroku's API allows.
    expect((await apiCall(paas, 'DELETE', `/v1/apps/drn-cli/drains/${list[1].token}`)).status).toBe(200);
    expect((await cli(paas, ['drains', '-a', 'drn-cli'])).stdout).toContain('drn-cli has no drains');
  });

  describe('invalid URLs', () => {
    beforeAll(() => createApp(paas, 'drn-invalid'));

    it.each([
      ['syslog+tcp://logs.example.com', 'has no port'],
      ['syslog+tcp://logs.example.com:0', 'has no port'],
      ['syslog+tcp://u:p@logs.example.com:514', 'user and password'],
      ['syslog+tcp://logs.example.com:514/path', 'path'],
      ['syslog://logs.example.com:514', 'not a drain scheme'],
      ['syslog+udp://logs.example.com:514', 'not a drain scheme'],
      ['ftp://logs.example.com/', 'not a drain scheme'],
      ['file:///etc/passwd', 'not a drain scheme'],
      ['javascript:alert(1)', 'not a drain scheme'],
      ['https://', 'not a URL'],
      ['logs.example.com:514', 'not a drain scheme'],
      ['not a url', 'spaces'],
      ['https://logs.example.com/a b', 'spaces'],
      ['https://logs.example.com/\n', 'control characters'],
      ['https://logs.example.com/#frag', 'fragment'],
      [`https://logs.example.com/${'x'.repeat(2100)}`, 'at most 2048'],
      ['', 'Send {"url"'],
      [42, 'Send {"url"'],
    ])('refuses %j with 422 and the accepted schemes', async (url, rule) => {
      const r = await apiCall(paas, 'POST', '/v1/apps/drn-invalid/drains', { url });
      expect(r.status).toBe(422);
      expect(r.json).toMatchObject({ id: 'invalid_params', message: expect.stringContaining(rule) });
      expect(r.json.message).toContain('syslog+tcp://HOST:PORT, https://');
      expect((await apiCall(paas, 'GET', '/v1/apps/drn-invalid/drains')).json).toEqual([]);
    });

    it('says so through the CLI too', async () => {
      const r = await cli(paas, ['drains:add', 'syslog+tcp://logs.example.com', '-a', 'drn-invalid']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('syslog drains need one');
    });
  });

  it('answers 404 for an unknown app', async () => {
    for (const [method, path, body] of [
      ['GET', '/v1/apps/ghost/drains'],
      ['POST', '/v1/apps/ghost/drains', { url: 'https://logs.example.com/' }],
      ['DELETE', `/v1/apps/ghost/drains/${encodeURIComponent('https://logs.example.com/')}`],
    ] as const) {
      const r = await apiCall(paas, method, path, body);
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.json).toMatchObject({ id: 'not_found', message: expect.stringContaining('paas apps') });
    }
  });
});

describe('delivery', () => {
  it('sends lines to an HTTP drain (logplex) and a syslog drain (RFC 5424) beside dead ones, and again after a restart', { timeout: 120_000 }, async () => {
    const live = await startPaas();
    const web = await httpReceiver();
    const syslog = await syslogReceiver();
    const dead = await deadPort();
    await createApp(live, 'drn-live');
    // The dead ones first: a drain that cannot deliver must hold up none added after it.
    for (const url of [`http://127.0.0.1:${dead}/`, `syslog+tcp://127.0.0.1:${dead}`, `http://paas:s3cret@127.0.0.1:${web.port}/logs`, `syslog+tcp://127.0.0.1:${syslog.port}`]) {
      const r = await cli(live, ['drains:add', url, '-a', 'drn-live']);
      expect(r.code, r.stderr).toBe(0);
    }
    const token = (await drainsOf(live, 'drn-live'))[2].token;
    const pushed = await push(live, await gitRepo(live, tickerApp), 'drn-live');
    expect(pushed.code, pushed.stderr).toBe(0);

    const ticks = (frames: string[]): string[] => frames.filter((f) => TICK('drn-live').test(f));
    const boots = (frames: string[]): Set<string> => new Set(ticks(frames).map((f) => TICK('drn-live').exec(f)![1]));
    await vi.waitFor(() => expect(ticks(web.posts.flatMap((p) => p.frames)).length).toBeGreaterThan(2), { timeout: 20_000, interval: 100 });
    await vi.waitFor(() => expect(ticks(syslog.received()).length).toBeGreaterThan(2), { timeout: 20_000, interval: 100 });

    for (const post of web.posts) {
      expect(post.headers).toMatchObject({
        'content-type': 'application/logplex-1',
        'logplex-msg-count': String(post.frames.length),
        'logplex-drain-token': token,
        'user-agent': 'paas-logplex/1',
        authorization: `Basic ${Buffer.from('paas:s3cret').toString('base64')}`,
      });
    }
    const frameIds = web.posts.map((p) => p.headers['logplex-frame-id']);
    expect(new Set(frameIds).size).toBe(frameIds.length);
    // The platform's own lines go too, as paas[…] with the dyno as PROCID.
    expect(web.posts.flatMap((p) => p.frames).some((f) => / drn-live paas web\.1 - - /.test(f))).toBe(true);
    const before = boots(web.posts.flatMap((p) => p.frames));
    expect(before.size).toBe(1);

    // Drains live in the store: after a restart they deliver the new dyno's lines.
    await live.stop();
    const again = await startPaas({ PAAS_DATA_DIR: live.dataDir, PAAS_API_TOKEN: live.token });
    expect((await drainsOf(again, 'drn-live')).map((d) => d.token)[2]).toBe(token);
    const fresh = (frames: string[]): string[] => [...boots(frames)].filter((b) => !before.has(b));
    await vi.waitFor(() => expect(fresh(web.posts.flatMap((p) => p.frames))).toHaveLength(1), { timeout: 30_000, interval: 200 });
    await vi.waitFor(() => expect(fresh(syslog.received())).toHaveLength(1), { timeout: 30_000, interval: 200 });
    expect(again.output()).toMatch(/Log drain d\.[0-9a-f-]{36} of drn-live: could not deliver/);

    // A removed drain gets nothing more (its last batch may still have been on its way).
    const removed = await cli(again, ['drains:remove', `http://paas:s3cret@127.0.0.1:${web.port}/logs`, '-a', 'drn-live']);
    expect(removed.code, removed.stderr).toBe(0);
    const posts = web.posts.length;
    await new Promise((r) => setTimeout(r, 1500));
    expect(web.posts.length).toBe(posts);
    // Destroying the app stops its drains: the syslog connection is closed.
    expect(syslog.open()).toBe(1);
    const destroyed = await cli(again, ['apps:destroy', 'drn-live', '--confirm', 'drn-live']);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    await vi.waitFor(() => expect(syslog.open()).toBe(0), { timeout: 5000 });
  });
});
