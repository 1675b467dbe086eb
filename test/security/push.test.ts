// Issue 8, "pushes belong to their pusher": big pushes are not refused by git's probe request, app
// creation is atomic, and the pre-receive callback is reachable only through the server's own socket.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticSite } from '../helpers/fixtures.js';
import { apiCall, gitRepo, type Paas, push, startPaas, viaRouter } from '../helpers/paas.js';

let paas: Paas;
beforeAll(async () => {
  paas = await startPaas({ PAAS_BOOT_TIMEOUT_MS: '10000' });
});
afterAll(async () => {
  await paas?.stop();
});

async function createApp(name: string): Promise<void> {
  const r = await apiCall(paas, 'POST', '/v1/apps', { name });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
}

describe('creating an app', () => {
  it('lets exactly one of 20 concurrent creates of one name win, and keeps its repository', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => apiCall(paas, 'POST', '/v1/apps', { name: 'race-app' })));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([201, ...Array(19).fill(409)]);
    for (const a of answers.filter((x) => x.status === 409)) {
      expect(a.json).toMatchObject({ id: 'name_taken', message: expect.stringContaining('race-app') });
    }
    const dir = await gitRepo(paas, staticSite);
    const r = await push(paas, dir, 'race-app');
    expect(r.code, r.stderr).toBe(0);
    expect((await viaRouter(paas, 'race-app.localhost')).body).toContain('hello from a static site');
  });
});

describe('a repository left behind with no app', () => {
  it('is moved aside, never deleted, when an app of that name is created', async () => {
    const leftover = path.join(paas.dataDir, 'repos', 'orphan-app.git');
    fs.mkdirSync(leftover, { recursive: true });
    fs.writeFileSync(path.join(leftover, 'precious'), 'data from before the crash');
    await createApp('orphan-app');
    const kept = fs.readdirSync(path.join(paas.dataDir, 'repos', '.orphans')).filter((n) => n.startsWith('orphan-app-'));
    expect(kept).toHaveLength(1);
    expect(fs.readFileSync(path.join(paas.dataDir, 'repos', '.orphans', kept[0]!, 'precious'), 'utf8')).toBe('data from before the crash');
    expect(paas.output()).toContain(`Moved ${leftover}, which belonged to no app`);
    const r = await push(paas, await gitRepo(paas, staticSite), 'orphan-app');
    expect(r.code, r.stderr).toBe(0);
  });
});
