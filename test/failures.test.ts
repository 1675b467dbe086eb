// Failures that explain themselves: what a pusher reads when an app declares nothing to run, has
// no web process, or its web process dies or never listens while booting; and the Node buildpack's
// NODE_ENV and an engines.node that is no range. Real server, real git pushes, real builds.
import { beforeAll, describe, expect, it } from 'vitest';
import { apiCall, cli, commitFiles, createApp, gitRepo, type Paas, push, startPaas, viaRouter } from './helpers/paas.js';

const BOOT_TIMEOUT_S = 7;

let paas: Paas;
beforeAll(async () => {
  paas = await startPaas({ PAAS_BOOT_TIMEOUT_MS: String(BOOT_TIMEOUT_S * 1000) });
});

function repo(files: Record<string, string>): Promise<string> {
  return gitRepo(paas, files);
}

/** A package.json with a matching lockfile (no dependencies), so the build needs no network. */
function nodePackage(pkg: Record<string, unknown>): Record<string, string> {
  const lock = { name: pkg.name, version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: pkg.name, version: '1.0.0' } } };
  return { 'package.json': JSON.stringify({ version: '1.0.0', ...pkg }), 'package-lock.json': JSON.stringify(lock) };
}

/** The pusher's `remote:` lines, without git's prefix and the padding it adds after each. */
function remoteLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('remote:')).map((l) => l.replace(/^remote: ?/, '').trimEnd());
}

async function releaseOf(app: string): Promise<{ version: number } | null> {
  return (await apiCall(paas, 'GET', `/v1/apps/${app}`)).json.release;
}

describe('an app that declares nothing to run', () => {
  it('is rejected, and the message names the three ways to declare a web process', async () => {
    await createApp(paas, 'no-process');
    const dir = await repo({ ...nodePackage({ name: 'idle', scripts: { test: 'node lib.js' } }), 'lib.js': 'module.exports = 42;\n' });
    const r = await push(paas, dir, 'no-process');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('[remote rejected] main -> main');
    expect(r.stderr).toContain('This app declares no process to run, so nothing would start.');
    expect(r.stderr).toContain('add a `web: <command>` line to a Procfile, a `start` script to package.json, or a `server.js` file');
    expect(await releaseOf('no-process')).toBeNull();

    // A release command alone runs once per release and keeps nothing running either.
    await commitFiles(paas, dir, { Procfile: 'release: node lib.js\n' });
    const releaseOnly = await push(paas, dir, 'no-process');
    expect(releaseOnly.code).not.toBe(0);
    expect(releaseOnly.stderr).toContain('declares no process to run (only a `release` command');
    expect(await releaseOf('no-process')).toBeNull();
  });

  it('but with other process types and no web, is accepted and says nothing answers HTTP', async () => {
    await createApp(paas, 'worker-only');
    const dir = await repo({ Procfile: 'worker: node worker.js\nrelease: true\n', 'worker.js': 'setInterval(() => console.log("working"), 1000);\n' });
    const r = await push(paas, dir, 'worker-only');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('No web process type: nothing answers HTTP for this app.');
    expect(r.stderr).toContain('Its other process types (worker) start with no dynos: scale them with `paas ps:scale worker=1`.');
    expect(r.stderr).toMatch(/Released v1/);
    expect((await viaRouter(paas, 'worker-only.localhost')).status).toBe(503);
    // A second release has no new web dynos to watch: nothing stands by, and the push says nothing of it.
    await commitFiles(paas, dir, { 'worker.js': 'setInterval(() => console.log("working harder"), 1000);\n' });
    const again = await push(paas, dir, 'worker-only');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/Released v2/);
    expect(again.stderr).not.toContain('stands by');
    // Nothing answers at its URL, and the push does not say it was deployed there.
    expect(again.stderr).toContain('Deployed to paas, with no web process: nothing answers at http://worker-only.localhost');
    expect(again.stderr).not.toMatch(/localhost:\d+ deployed to paas/);
    const ps = await cli(paas, ['ps', '-a', 'worker-only']);
    expect(ps.stdout).toContain('worker-only has no dynos. Scale one up with `paas ps:scale worker=1 -a worker-only`.');
    // Scaled, the next push says what runs instead of how to start it; the H14 page has no web=1 to fail.
    expect((await cli(paas, ['ps:scale', 'worker=1', '-a', 'worker-only'])).code).toBe(0);
    await commitFiles(paas, dir, { 'worker.js': 'setInterval(() => console.log("working hardest"), 1000);\n' });
    const scaled = await push(paas, dir, 'worker-only');
    expect(scaled.stderr).toContain('Running: worker=1 (`paas ps:scale` changes it).');
    expect(scaled.stderr).not.toContain('start with no dynos');
    const page = await viaRouter(paas, 'worker-only.localhost');
    expect(page.body).toContain('without one (a worker-only app), it answers no HTTP');
  });
});

describe('a web process that fails while booting', () => {
  it('that exits: the push shows its last 20 lines verbatim and its exit code, with no $PORT hint', async () => {
    await createApp(paas, 'crash-boot');
    const dir = await repo({
      Procfile: 'web: node server.js\n',
      // 25 lines in all; the error goes to stderr, with a stack-like indented line after it.
      'server.js': [
        "for (let i = 1; i <= 23; i++) console.log('boot step ' + String(i).padStart(2, '0'));",
        "console.error('Error: DATABASE_URL is not set (config:set it)');",
        "console.error('    at connect (/app/db.js:12:9)');",
        'process.exit(1);',
        '',
      ].join('\n'),
    });
    const r = await push(paas, dir, 'crash-boot');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('[remote rejected] main -> main');
    expect(r.stderr).toContain('web.1 exited with code 1 while booting, before it accepted any connection.');
    // The last 20 of its 25 lines, as it printed them (stdout, then the error on stderr), under the heading.
    const lines = remoteLines(r.stderr);
    const heading = lines.indexOf(' !     Its last 20 lines of output:');
    expect(heading, r.stderr).toBeGreaterThan(0);
    const quoted = lines.slice(heading + 1, heading + 21).map((l) => l.replace(/^ ! {7}/, ''));
    const steps = Array.from({ length: 18 }, (_, i) => `boot step ${String(i + 6).padStart(2, '0')}`);
    expect(quoted).toEqual([...steps, 'Error: DATABASE_URL is not set (config:set it)', '    at connect (/app/db.js:12:9)']);
    expect(r.stderr).not.toContain('boot step 05');
    expect(r.stderr).not.toContain('$PORT');
    expect(await releaseOf('crash-boot')).toBeNull();
  });

  it('that is killed by a signal: the push names the signal', async () => {
    await createApp(paas, 'killed-boot');
    const dir = await repo({ Procfile: 'web: node -e "console.log(\'about to die\'); process.kill(process.pid, \'SIGKILL\')"\n' });
    const r = await push(paas, dir, 'killed-boot');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('web.1 was killed by SIGKILL while booting');
    expect(r.stderr).toContain('Its last line of output:');
    expect(r.stderr).toContain('about to die');
    expect(r.stderr).not.toContain('$PORT');
  });

  it('that runs but never listens: progress shows while paas waits, then the $PORT hint', async () => {
    await createApp(paas, 'deaf-boot');
    const dir = await repo({ Procfile: 'web: node idle.js\n', 'idle.js': "console.log('started, listening nowhere');\nsetInterval(() => {}, 1000);\n" });
    const r = await push(paas, dir, 'deaf-boot');
    expect(r.code).not.toBe(0);
    const progress = r.stderr.match(/-----> Waiting for web\.1 to listen on its port \(\d+ s, giving up at 7 s\)/g) ?? [];
    expect(progress.length, r.stderr).toBeGreaterThanOrEqual(2);
    expect(r.stderr).toContain(`web.1 did not listen on $PORT within ${BOOT_TIMEOUT_S} s; it was still running, and paas stopped it.`);
    expect(r.stderr).toContain('Make the web process listen on the port in $PORT');
    expect(r.stderr).toContain('started, listening nowhere');
  });

  it('after config:set: the CLI shows the same report, and the release is failed', async () => {
    await createApp(paas, 'config-crash');
    const dir = await repo({
      Procfile: 'web: node server.js\n',
      'server.js': "if (process.env.BREAK) { console.error('broken by config: ' + process.env.BREAK); process.exit(4); }\nrequire('http').createServer((q, s) => s.end('ok')).listen(process.env.PORT);\n",
    });
    expect((await push(paas, dir, 'config-crash')).code).toBe(0);
    const set = await cli(paas, ['config:set', 'BREAK=yes', '-a', 'config-crash']);
    expect(set.code).not.toBe(0);
    expect(set.stderr).toContain('web.1 exited with code 4 while booting');
    expect(set.stderr).toContain('broken by config: yes');
    const releases = (await apiCall(paas, 'GET', '/v1/apps/config-crash/releases')).json as { version: number; status: string }[];
    expect(releases.find((x) => x.version === 2)?.status).toBe('failed');
    expect((await viaRouter(paas, 'config-crash.localhost')).body).toBe('ok');
  });
});

/** Answers with the NODE_ENV it runs under and whether the devDependency `devtool` is installed. */
const NODE_ENV_SERVER = `
const installed = (() => { try { require.resolve('devtool'); return true; } catch { return false; } })();
require('http').createServer((q, s) => s.end(JSON.stringify({ nodeEnv: process.env.NODE_ENV, devtool: installed }))).listen(process.env.PORT);
`;

/** A Node app with a local devDependency (no network needed) that its build script uses. */
const nodeEnvApp: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'node-env', version: '1.0.0', scripts: { build: 'node build.js', start: 'node server.js' }, devDependencies: { devtool: 'file:devtool' } }),
  'package-lock.json': JSON.stringify({
    name: 'node-env',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'node-env', version: '1.0.0', devDependencies: { devtool: 'file:devtool' } },
      devtool: { version: '1.0.0', dev: true },
      'node_modules/devtool': { resolved: 'devtool', link: true },
    },
  }),
  'devtool/package.json': JSON.stringify({ name: 'devtool', version: '1.0.0' }),
  'devtool/index.js': "module.exports = 'devtool';\n",
  'build.js': "console.log('build sees NODE_ENV=' + process.env.NODE_ENV + ' and ' + require('devtool'));\n",
  'server.js': NODE_ENV_SERVER,
};

describe('the Node buildpack', () => {
  it('runs the build and the app with NODE_ENV=production unless the config sets it, pruning devDependencies', async () => {
    await createApp(paas, 'node-env');
    const dir = await repo(nodeEnvApp);
    const first = await push(paas, dir, 'node-env');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('build sees NODE_ENV=production and devtool');
    expect(first.stderr).toContain('Pruning devDependencies');
    const served = async () => JSON.parse((await viaRouter(paas, 'node-env.localhost')).body) as { nodeEnv: string; devtool: boolean };
    expect(await served()).toEqual({ nodeEnv: 'production', devtool: false });

    // The config wins, in the dynos at once and in the next build.
    expect((await cli(paas, ['config:set', 'NODE_ENV=staging', '-a', 'node-env'])).code).toBe(0);
    expect(await served()).toEqual({ nodeEnv: 'staging', devtool: false });
    await commitFiles(paas, dir, { 'server.js': `${NODE_ENV_SERVER}// again\n` });
    const again = await push(paas, dir, 'node-env');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('build sees NODE_ENV=staging and devtool');
    expect(again.stderr).not.toContain('Pruning devDependencies');
    expect(await served()).toEqual({ nodeEnv: 'staging', devtool: true });
  });

  it('refuses an engines.node that is no range at all, and builds one the platform Node satisfies on it', async () => {
    await createApp(paas, 'engines-app');
    const app = (node: unknown) => ({
      ...nodePackage({ name: 'engines-app', scripts: { start: 'node server.js' }, engines: { node } }),
      'server.js': "require('http').createServer((q, s) => s.end('ok')).listen(process.env.PORT);\n",
    });
    // Ranges that need another Node, and ranges none satisfies, are in node-versions.test.ts.
    const dir = await repo(app('a banana'));
    const invalid = await push(paas, dir, 'engines-app');
    expect(invalid.code).not.toBe(0);
    expect(invalid.stderr).toContain('package.json engines.node ("a banana") is not a version range. Fix engines.node');

    await commitFiles(paas, dir, app(`>=${process.versions.node.split('.')[0]}`));
    const fits = await push(paas, dir, 'engines-app');
    expect(fits.code, fits.stderr).toBe(0);
    expect(fits.stderr).toContain(`-----> Using node ${process.versions.node} (engines.node: >=${process.versions.node.split('.')[0]}; the platform's own Node)`);
  });
});
