import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { envApp } from './helpers/fixtures.js';
import { apiCall, cli, commitFiles, createApp, gitRepo, push, sh, startPaas } from './helpers/paas.js';

interface Build {
  id: string;
  status: string;
  commit: string;
  buildpack: string | null;
  created_at: string;
  duration: number | null;
}

describe('build history and kept outputs', () => {
  it('lists builds, and shows build and release outputs after a restart, failed builds included', async () => {
    const token = 'builds-test-token';
    const first = await startPaas({ PAAS_API_TOKEN: token });
    const app = 'history-app';
    await createApp(first, app);
    const dir = await gitRepo(first, envApp('one', 'echo "release phase says hello"'));
    const good = (await sh('git', ['rev-parse', 'HEAD'], { cwd: dir })).stdout.trim();
    expect((await push(first, dir, app)).code).toBe(0);
    // v2 comes from the API (config:set), not a push: its release phase is kept all the same.
    expect((await cli(first, ['config:set', 'GREETING=hi', '-a', app])).code).toBe(0);
    await commitFiles(first, dir, { 'package.json': '{ "name": broken' });
    const bad = (await sh('git', ['rev-parse', 'HEAD'], { cwd: dir })).stdout.trim();
    expect((await push(first, dir, app)).code).not.toBe(0);

    const listed = await cli(first, ['builds', '--json', '-a', app]);
    expect(listed.code, listed.stderr).toBe(0);
    const builds = JSON.parse(listed.stdout) as Build[];
    expect(builds.map((b) => [b.status, b.commit, b.buildpack])).toEqual([
      // Detected before it failed: the buildpack is listed (null only for a build that failed before).
      ['failed', bad, 'Node.js'],
      ['succeeded', good, 'Node.js'],
    ]);
    for (const b of builds) {
      expect(Object.keys(b).sort()).toEqual(['buildpack', 'commit', 'created_at', 'duration', 'id', 'status']);
      expect(b.duration).toBeGreaterThanOrEqual(0);
    }
    const table = await cli(first, ['builds', '-a', app]);
    expect(table.stdout).toMatch(/^ID +Status +Commit +Buildpack +Created +Duration$/m);
    expect(table.stdout).toContain(`${builds[0].id}  failed`);

    // A restart on the same data dir: the outputs come from disk.
    await first.stop();
    const paas = await startPaas({ PAAS_DATA_DIR: first.dataDir, PAAS_API_TOKEN: token });
    const latest = await cli(paas, ['builds:output', '-a', app]);
    expect(latest.code, latest.stderr).toBe(0);
    expect(latest.stdout).toContain("package.json line 1, column 11: unexpected 'b'. Fix it and push again.");
    expect(latest.stdout).toContain(' !     Push rejected:');
    const goodOutput = await cli(paas, ['builds:output', builds[1].id, '-a', app]);
    expect(goodOutput.stdout).toContain('-----> Node.js app detected');
    expect(goodOutput.stdout).toContain('release phase says hello');
    expect(goodOutput.stdout).toContain('-----> Released v1');
    const asJson = await fetch(`${paas.apiUrl}/v1/apps/${app}/builds/${builds[0].id}/output`, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
    expect(((await asJson.json()) as { output: string }).output).toBe(latest.stdout);

    for (const version of ['v1', 'v2']) {
      const out = await cli(paas, ['releases:output', version, '-a', app]);
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout).toContain('-----> Running release command: echo "release phase says hello"');
      expect(out.stdout).toMatch(/^ *release phase says hello$/m);
    }

    // Ids are checked at the edge: nothing but a build id names a file.
    const traversal = await cli(paas, ['builds:output', '../../api-token', '-a', app]);
    expect(traversal.code).toBe(1);
    expect(traversal.stderr).toContain('is not a build id');
    expect((await apiCall(paas, 'GET', `/v1/apps/${app}/builds/..%2F..%2Fapi-token/output`)).status).toBe(422);
    const unknown = await apiCall(paas, 'GET', `/v1/apps/${app}/builds/00000000-0000-4000-8000-000000000000/output`);
    expect(unknown).toMatchObject({ status: 404, json: { message: expect.stringContaining('paas builds') } });
    const noRelease = await cli(paas, ['releases:output', 'v9', '-a', app]);
    expect(noRelease.code).toBe(1);
    expect(noRelease.stderr).toContain('has no release v9');
    expect((await apiCall(paas, 'GET', `/v1/apps/${app}/releases/..%2Fx/output`)).status).toBe(422);

    // apps:destroy takes the outputs with it.
    expect(fs.readdirSync(path.join(paas.dataDir, 'builds', app))).toHaveLength(2);
    expect((await apiCall(paas, 'DELETE', `/v1/apps/${app}`)).status).toBe(204);
    expect(fs.existsSync(path.join(paas.dataDir, 'builds', app))).toBe(false);
    expect(fs.existsSync(path.join(paas.dataDir, 'releases', app))).toBe(false);
  });
});
