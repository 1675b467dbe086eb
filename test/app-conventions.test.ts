// Heroku's and Dokku's app conventions, end to end on the process runtime: app.json with comments
// and JSON errors named by line and column, .profile.d before every process, `paas run TYPE`, a web
// dyno on the wrong port named at once, and the static buildpack's `/dir` → `/dir/` redirect.
// test/docker/app-conventions.test.ts runs the runtime's part on Docker.
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '../server/runtime/free-port.js';
import { conventionsApp, fixedPortApp, staticSite } from './helpers/fixtures.js';
import { cli, createApp, gitRepo, type Paas, push, startPaas, viaRouter } from './helpers/paas.js';
import { paasRun } from './helpers/run.js';

let paas: Paas;

beforeAll(async () => {
  // A boot timeout far above the wrong-port grace: a dyno on the wrong port must be named long before it.
  paas = await startPaas({ PAAS_BOOT_TIMEOUT_MS: '60000' });
}, 60_000);

/** Pushes `files` to a new app `app`, expecting `ok`; returns git's output (the build's, as `remote:` lines). */
async function pushApp(app: string, files: Record<string, string>, ok = true): Promise<string> {
  await createApp(paas, app);
  const pushed = await push(paas, await gitRepo(paas, files), app);
  expect(pushed.code === 0, pushed.stderr).toBe(ok);
  return pushed.stderr;
}

describe('JSON control files', () => {
  it('names the line and column of an error in app.json and package.json, and says package.json takes no comments', async () => {
    const appJson = '{\n  // comments are fine\n  "healthchecks": {\n    "web": [ }\n  }\n}\n';
    const app = await pushApp('badappjson', { Procfile: 'web: node server.js\n', 'app.json': appJson }, false);
    expect(app).toContain("app.json line 4, column 14: unexpected '}'. Fix it and push again.");

    const pkg = await pushApp('badpkg', { 'package.json': '{\n  "name": "x",\n  // npm refuses this\n  "version": "1.0.0"\n}\n' }, false);
    expect(pkg).toContain("package.json line 3, column 3: unexpected '/': package.json is strict JSON, with no comments. Fix it and push again.");
  });
});

describe("Heroku's runtime contract and paas run TYPE", () => {
  const APP = 'conv';
  let output: string;
  beforeAll(async () => {
    output = await pushApp(APP, conventionsApp);
  }, 120_000);

  it('sources .profile.d/*.sh in name order, then .profile, before the web dyno and the release phase', async () => {
    expect(output).toContain('release sees from-profile-d');
    const env = JSON.parse((await viaRouter(paas, `${APP}.localhost`)).body) as Record<string, string | null>;
    expect(env).toEqual({ PROFILE_VAR: 'from-profile-d', SECOND_VAR: 'from-profile-d+second', FROM_PROFILE: 'from-profile-d+second+profile', IGNORED: null });
    // What a script prints is the dyno's output, in the app's logs.
    const logs = (await cli(paas, ['logs', '-a', APP, '-n', '200'])).stdout;
    expect(logs).toMatch(/app\[web\.1\]: profile\.d says hello/);
  });

  it('sources it before a worker dyno', async () => {
    expect((await cli(paas, ['ps:scale', 'worker=1', '-a', APP])).code).toBe(0);
    await vi.waitFor(async () => {
      expect((await cli(paas, ['logs', '-a', APP, '-n', '200'])).stdout).toMatch(/app\[worker\.1\]: worker sees from-profile-d/);
    }, { timeout: 15_000, interval: 200 });
  });

  it('runs a Procfile type by its name with the arguments appended, any other command as given, both after .profile.d', async () => {
    const typed = await paasRun(paas, APP, ['console', 'a', 'b c']);
    expect(typed.stdout, typed.stderr).toBe('profile.d says hello\nconsole|from-profile-d|--from-procfile|a|b c\n');
    expect(typed.stderr).toContain(`Running node console.js --from-procfile a 'b c' on ${APP}... up, run.`);
    // One word is a command line as typed: its first word names the type too.
    expect((await paasRun(paas, APP, ['console x'])).stdout).toContain('console|from-profile-d|--from-procfile|x\n');
    const plain = await paasRun(paas, APP, ['echo', 'console', '$PROFILE_VAR']);
    expect(plain.stdout).toBe('profile.d says hello\nconsole $PROFILE_VAR\n');
    expect((await paasRun(paas, APP, ['echo "$SECOND_VAR"'])).stdout).toBe('profile.d says hello\nfrom-profile-d+second\n');
  });
});

describe('a web dyno on another port than $PORT', () => {
  it('is named as soon as it listens there, not at the boot timeout', async () => {
    const port = await freePort();
    const output = await pushApp('wrongport', fixedPortApp(port), false);
    const named = new RegExp(`web\\.1 is listening on port ${port}, not on \\$PORT \\((\\d+)\\): make it listen on process\\.env\\.PORT`);
    expect(output).toMatch(named);
    expect(Number(named.exec(output)![1])).not.toBe(port);
    expect(output).not.toContain('did not listen on $PORT within');
  });
});

describe('the static buildpack', () => {
  it('redirects a directory without its slash to it with the slash (301), keeping the query string, as nginx does', async () => {
    await pushApp('staticdirs', { ...staticSite, 'docs/index.html': '<h1>docs</h1>\n' });
    const moved = await viaRouter(paas, 'staticdirs.localhost', '/docs?page=2&q=a%20b');
    expect(moved.status).toBe(301);
    expect(moved.headers.location).toBe('/docs/?page=2&q=a%20b');
    const page = await viaRouter(paas, 'staticdirs.localhost', '/docs/?page=2');
    expect([page.status, page.body]).toEqual([200, '<h1>docs</h1>\n']);
    // Never to another host, however the path is written; a directory without an index is no page.
    expect((await viaRouter(paas, 'staticdirs.localhost', '//docs')).headers.location).toBe('/docs/');
    expect((await viaRouter(paas, 'staticdirs.localhost', '/css')).status).toBe(404);
  });
});
