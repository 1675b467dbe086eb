import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { envApp } from './helpers/fixtures.js';
import { apiCall, cli, commitFiles, gitRepo, type Paas, push, sh, startPaas, viaRouter } from './helpers/paas.js';

let paas: Paas;
// Stopped when the file ends, pass or fail: startPaas registers that itself.
beforeAll(async () => {
  paas = await startPaas({ PAAS_RELEASE_TIMEOUT_MS: '20000' });
});

async function served(app: string): Promise<{ message: string; env: Record<string, string> }> {
  const res = await viaRouter(paas, `${app}.localhost`);
  expect(res.status, res.body).toBe(200);
  return JSON.parse(res.body);
}

async function releases(app: string): Promise<{ version: number; description: string; status: string; current: boolean; created_at: string }[]> {
  const r = await cli(paas, ['releases', '-a', app, '-n', '100', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

async function newApp(name: string): Promise<void> {
  expect((await apiCall(paas, 'POST', '/v1/apps', { name })).status).toBe(201);
}

function slugCount(): number {
  return fs.readdirSync(path.join(paas.dataDir, 'slugs')).length;
}

describe('config vars and releases', () => {
  it('keeps config set before the first push, and uses it in the first deploy', async () => {
    await newApp('early-config');
    const set = await cli(paas, ['config:set', 'GREETING=hello early', '-a', 'early-config']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout.trim()).toBe('v1');
    const dir = await gitRepo(paas, envApp('one'));
    expect((await push(paas, dir, 'early-config')).code).toBe(0);
    expect((await served('early-config')).env.GREETING).toBe('hello early');
    const list = await releases('early-config');
    expect(list.map((r) => [r.version, r.description, r.status, r.current])).toEqual([
      [2, expect.stringMatching(/^Deploy [0-9a-f]{7}$/), 'succeeded', true],
      [1, 'Set GREETING config vars', 'succeeded', false],
    ]);
    expect(Object.keys(list[0])).toEqual(expect.arrayContaining(['version', 'description', 'status', 'current', 'created_at']));
    // v1 holds config but no code: there is nothing to roll back to.
    const back = await cli(paas, ['releases:rollback', 'v1', '-a', 'early-config']);
    expect(back.code).toBe(1);
    expect(back.stderr).toContain('no code to roll back to');
    const noPrevious = await cli(paas, ['releases:rollback', '-a', 'early-config']);
    expect(noPrevious.code).toBe(1);
    expect(noPrevious.stderr).toContain('no succeeded release before v2');
    expect(await releases('early-config')).toHaveLength(2);
  });

  it('makes exactly one release per config:set, round-trips any text, and exposes dyno metadata', async () => {
    await newApp('config-app');
    const dir = await gitRepo(paas, envApp('cfg'));
    expect((await push(paas, dir, 'config-app')).code).toBe(0);
    const tricky = 'a b = "double" \'single\' $HOME `tick` \\ back\nsecond line\n\ttab ünïcødé';
    const set = await cli(paas, ['config:set', `TRICKY=${tricky}`, 'A=1', 'EMPTY=', 'EQ==x=y', '-a', 'config-app']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout.trim()).toBe('v2');
    const list = await releases('config-app');
    expect(list).toHaveLength(2);
    expect(list[0]).toMatchObject({ version: 2, description: 'Set TRICKY, A, EMPTY, EQ config vars', current: true });

    const { env } = await served('config-app');
    expect(env).toMatchObject({ TRICKY: tricky, A: '1', EMPTY: '', EQ: '=x=y' });
    const sha = (await sh('git', ['rev-parse', 'HEAD'], { cwd: dir })).stdout.trim();
    expect(env).toMatchObject({ PAAS_APP_NAME: 'config-app', PAAS_RELEASE_VERSION: 'v2', PAAS_SLUG_COMMIT: sha, DYNO: 'web.1' });

    const get = await cli(paas, ['config:get', 'TRICKY', '-a', 'config-app']);
    expect(get.stdout).toBe(`${tricky}\n`);
    const asJson = await cli(paas, ['config', '--json', '-a', 'config-app']);
    expect(JSON.parse(asJson.stdout)).toEqual({ TRICKY: tricky, A: '1', EMPTY: '', EQ: '=x=y' });
    // --shell output, fed back through a real shell, gives the same values.
    const shell = await cli(paas, ['config', '--shell', '-a', 'config-app']);
    const echoed = await sh('bash', ['-c', `${shell.stdout}\nprintf '%s' "$TRICKY"`]);
    expect(echoed.stdout).toBe(tricky);

    const unset = await cli(paas, ['config:unset', 'A', 'EMPTY', '-a', 'config-app']);
    expect(unset.code, unset.stderr).toBe(0);
    expect((await releases('config-app'))[0]).toMatchObject({ version: 3, description: 'Remove A, EMPTY config vars' });
    expect((await served('config-app')).env).not.toHaveProperty('A');

    // The apps list says `deploying` while a release is pending (the dashboard's status dot).
    const deploying = async () => (await apiCall(paas, 'GET', '/v1/apps')).json.find((a: { name: string }) => a.name === 'config-app').deploying;
    expect(await deploying()).toBe(false);
    const pending = await apiCall(paas, 'PATCH', '/v1/apps/config-app/config', { B: '2' });
    expect(pending.json).toMatchObject({ version: 4, status: 'pending' });
    expect(await deploying()).toBe(true);
    await (await fetch(pending.json.output_stream_url, { headers: { authorization: `Bearer ${paas.token}` } })).text();
    await expect.poll(deploying).toBe(false);
    expect((await releases('config-app'))[0]).toMatchObject({ version: 4, status: 'succeeded' });
  });

  it('refuses invalid and reserved keys and oversized values, changing nothing', async () => {
    await newApp('strict-config');
    await cli(paas, ['config:set', 'KEEP=me', '-a', 'strict-config']);
    const before = await releases('strict-config');
    for (const [args, msg] of [
      [['1BAD=x'], 'Invalid config key'],
      [['GOOD=1', 'has-dash=x'], 'Invalid config key'],
      [['PORT=80'], 'PORT is reserved'],
      [['DYNO=x'], 'DYNO is reserved'],
      [['NOEQUALS'], 'is not KEY=value'],
      [[`BIG=${'x'.repeat(32 * 1024 + 1)}`], 'the limit is 32768'],
    ] as const) {
      const r = await cli(paas, ['config:set', ...args, '-a', 'strict-config']);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toContain(msg);
    }
    expect((await cli(paas, ['config:unset', 'PORT', '-a', 'strict-config'])).stderr).toContain('reserved');
    expect(await releases('strict-config')).toEqual(before);
    expect(JSON.parse((await cli(paas, ['config', '--json', '-a', 'strict-config'])).stdout)).toEqual({ KEEP: 'me' });
    // The limit itself is allowed.
    const atLimit = await apiCall(paas, 'PATCH', '/v1/apps/strict-config/config', { BIG: 'x'.repeat(32 * 1024) });
    expect(atLimit.status).toBe(201);
  });

  it('rolls back to the old code and the old config without building', async () => {
    await newApp('roller');
    const dir = await gitRepo(paas, envApp('code A'));
    expect((await push(paas, dir, 'roller')).code).toBe(0); // v1: A, {}
    expect((await cli(paas, ['config:set', 'MODE=a-mode', '-a', 'roller'])).code).toBe(0); // v2: A, MODE=a-mode
    await commitFiles(paas, dir, envApp('code B'));
    expect((await push(paas, dir, 'roller')).code).toBe(0); // v3: B, MODE=a-mode
    expect((await cli(paas, ['config:set', 'MODE=b-mode', 'EXTRA=1', '-a', 'roller'])).code).toBe(0); // v4
    expect(await served('roller')).toMatchObject({ message: 'code B', env: { MODE: 'b-mode', EXTRA: '1' } });

    const slugsBefore = slugCount();
    const r = await cli(paas, ['releases:rollback', 'v2', '-a', 'roller']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('v5');
    expect(r.stderr).not.toContain('detected'); // no buildpack ran
    expect(slugCount()).toBe(slugsBefore);
    const after = await served('roller');
    expect(after.message).toBe('code A');
    expect(after.env.MODE).toBe('a-mode');
    expect(after.env).not.toHaveProperty('EXTRA');
    expect(after.env.PAAS_RELEASE_VERSION).toBe('v5');
    expect((await releases('roller'))[0]).toMatchObject({ version: 5, description: 'Rollback to v2', current: true });

    // Without a target: back to the release before the current one (v4).
    const back = await cli(paas, ['releases:rollback', '-a', 'roller']);
    expect(back.code, back.stderr).toBe(0);
    expect(await served('roller')).toMatchObject({ message: 'code B', env: { MODE: 'b-mode' } });

    const info = JSON.parse((await cli(paas, ['releases:info', 'v6', '--json', '-a', 'roller'])).stdout);
    expect(info).toMatchObject({ version: 6, description: 'Rollback to v4', current: true });
  });

  it('refuses to roll back to a release that does not exist or never succeeded', async () => {
    await newApp('no-roll');
    const dir = await gitRepo(paas, envApp('ok', 'test -z "$FAIL_RELEASE"'));
    expect((await push(paas, dir, 'no-roll')).code).toBe(0); // v1
    expect((await cli(paas, ['config:set', 'FAIL_RELEASE=1', '-a', 'no-roll'])).code).toBe(1); // v2 failed
    const missing = await cli(paas, ['releases:rollback', 'v42', '-a', 'no-roll']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('has no release v42');
    const failed = await cli(paas, ['releases:rollback', 'v2', '-a', 'no-roll']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('v2 failed, so it cannot be rolled back to');
    const bad = await cli(paas, ['releases:rollback', 'latest', '-a', 'no-roll']);
    expect(bad.stderr).toContain('is not a release version');
    expect((await releases('no-roll')).map((r) => r.version)).toEqual([2, 1]);
  });

  it('gives 20 concurrent config changes 20 distinct consecutive versions and loses no key', async () => {
    await newApp('busy-config');
    const dir = await gitRepo(paas, envApp('busy'));
    expect((await push(paas, dir, 'busy-config')).code).toBe(0); // v1
    // 20 real `paas config:set` processes at once; each waits for its own release to go live.
    const runs = await Promise.all(Array.from({ length: 20 }, (_, i) => cli(paas, ['config:set', `KEY_${i}=value ${i}`, '-a', 'busy-config'])));
    expect(runs.map((r) => r.code)).toEqual(Array(20).fill(0));
    const versions = runs.map((r) => Number(r.stdout.trim().replace(/^v/, ''))).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    const list = await releases('busy-config');
    expect(list.filter((r) => r.status === 'succeeded')).toHaveLength(21);
    expect(list[0]).toMatchObject({ version: 21, current: true });
    const config = JSON.parse((await cli(paas, ['config', '--json', '-a', 'busy-config'])).stdout);
    expect(config).toEqual(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`KEY_${i}`, `value ${i}`])));
    const { env } = await served('busy-config');
    for (let i = 0; i < 20; i++) expect(env[`KEY_${i}`]).toBe(`value ${i}`);
  });
});

describe('rolling onto a new release', () => {
  it('drops no request while config changes and a rollback restart the dynos', async () => {
    await newApp('steady');
    const dir = await gitRepo(paas, envApp('steady'));
    expect((await push(paas, dir, 'steady')).code).toBe(0);
    // Bounded load on loopback: 8 keep-alive clients, for as long as the changes take; they stop
    // when the test ends however it ends, so a failed change leaves no load running.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const outcomes = new Map<string, number>();
    let done = false;
    const one = () =>
      new Promise<void>((resolve) => {
        const req = http.get({ host: '127.0.0.1', port: paas.routerPort, headers: { host: 'steady.localhost' }, agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(void outcomes.set(String(res.statusCode), (outcomes.get(String(res.statusCode)) ?? 0) + 1)));
        });
        req.on('error', (err: NodeJS.ErrnoException) => resolve(void outcomes.set(err.code ?? 'error', (outcomes.get(err.code ?? 'error') ?? 0) + 1)));
      });
    const clients = Array.from({ length: 8 }, async () => {
      while (!done) await one();
    });
    onTestFinished(async () => {
      done = true;
      agent.destroy(); // cuts requests still in flight, so every client loop ends
      await Promise.all(clients);
    });
    for (const pair of ['N=1', 'N=2', 'N=3']) expect((await cli(paas, ['config:set', pair, '-a', 'steady'])).code).toBe(0);
    expect((await cli(paas, ['releases:rollback', '-a', 'steady'])).code).toBe(0);
    done = true;
    await Promise.all(clients);
    agent.destroy();
    expect(outcomes.get('200')).toBeGreaterThan(100);
    expect([...outcomes.keys()]).toEqual(['200']);
  });
});

describe('release phase', () => {
  it('runs before the release goes live, prints to the push and to the CLI, and gates the release', async () => {
    await newApp('migrator');
    const dir = await gitRepo(paas, envApp('v-one', 'echo "migrating for $PAAS_RELEASE_VERSION with ${GREETING:-none}" && test -z "$FAIL_RELEASE"'));
    const first = await push(paas, dir, 'migrator');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('Running release command');
    expect(first.stderr).toContain('remote:        migrating for v1 with none');

    const set = await cli(paas, ['config:set', 'GREETING=hi', '-a', 'migrator']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stderr).toContain('migrating for v2 with hi');

    // A failing release command: the release fails, and v2 keeps serving.
    const fail = await cli(paas, ['config:set', 'FAIL_RELEASE=1', '-a', 'migrator']);
    expect(fail.code).toBe(1);
    expect(fail.stderr).toContain('migrating for v3');
    expect(fail.stderr).toContain('Release v3 failed');
    expect(fail.stderr).toContain('release command failed (exit code 1)');
    expect((await served('migrator')).env).toMatchObject({ PAAS_RELEASE_VERSION: 'v2', GREETING: 'hi' });
    expect((await served('migrator')).env).not.toHaveProperty('FAIL_RELEASE');
    const list = await releases('migrator');
    expect(list.slice(0, 2).map((r) => [r.version, r.status, r.current])).toEqual([
      [3, 'failed', false],
      [2, 'succeeded', true],
    ]);
    // The failed change did not stick: the next change builds on v2's config.
    expect(JSON.parse((await cli(paas, ['config', '--json', '-a', 'migrator'])).stdout)).toEqual({ GREETING: 'hi' });

    // A push whose release command fails is rejected, and the old code keeps serving.
    await commitFiles(paas, dir, envApp('v-two', 'echo "broken migration" && exit 1'));
    const bad = await push(paas, dir, 'migrator');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('broken migration');
    expect(bad.stderr).toContain('[remote rejected]');
    expect((await served('migrator')).message).toBe('v-one');
  });

  it('fails a release command that runs past the time limit', async () => {
    const quick = await startPaas({ PAAS_RELEASE_TIMEOUT_MS: '1500' });
    expect((await apiCall(quick, 'POST', '/v1/apps', { name: 'slowpoke' })).status).toBe(201);
    const dir = await gitRepo(quick, envApp('never', 'sleep 30'));
    const r = await push(quick, dir, 'slowpoke');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('ran longer than 2 s');
    expect((await viaRouter(quick, 'slowpoke.localhost')).status).toBe(503);
  });
});
