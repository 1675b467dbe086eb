// A Node app's start script runs as `npm start` would (node_modules/.bin on PATH, the npm_* variables
// npm sets), without npm in the dyno: the app's own node is what runs, it gets the SIGTERM, and the
// platform adds at most 5 MB per dyno. Real server, real pushes; the dyno's processes read from /proc.
import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { packageEnv, startCommand } from '../builder/buildpacks/npm-start.js';
import { shownCommand } from '../lib/shown-command.js';
import { hasEnv } from '../server/sandbox/process-groups.js';
import { cli, createApp, gitRepo, type Paas, push, sh, startPaas, viaRouter } from './helpers/paas.js';
import { descendants, type ProcessInfo, rssKiB } from './helpers/procs.js';

/** What the platform may add to a dyno besides the app's own process (bwrap's two processes are ~3.5 MB). */
const PLATFORM_MAX_KIB = Math.floor(5_000_000 / 1024);

let paas: Paas;
beforeAll(async () => {
  paas = await startPaas();
});

/** Answers with the npm_* variables, PATH, and what `greet` (a bin of a local dependency, found on PATH) prints. */
const SERVER = `
const { execFileSync } = require('child_process');
const npm = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('npm_')));
const greet = execFileSync('greet', { encoding: 'utf8' }).trim();
const server = require('http').createServer((q, s) => s.end(JSON.stringify({ npm, path: process.env.PATH, greet })));
server.listen(process.env.PORT, () => console.log('listening'));
process.on('SIGTERM', () => {
  console.log('got SIGTERM in ' + process.env.npm_package_name + ', closing');
  server.close(() => process.exit(0));
});
`;

/** A Node app whose start script runs server.js, with a local dependency that has a bin (no network). */
function startApp(name: string, scripts: Record<string, string> = {}): Record<string, string> {
  const pkg = {
    name,
    version: '2.3.4',
    scripts: { start: 'node server.js', ...scripts },
    // A config key no shell can export: npm passes it to sh, which drops it, and so does paas.
    config: { greeting: "it's me", 'bad-name': 'x' },
    engines: { node: '>=22' },
    bin: { sd: 'server.js' },
    dependencies: { greeter: 'file:greeter' },
  };
  const lock = {
    name,
    version: '2.3.4',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name, version: '2.3.4', bin: pkg.bin, dependencies: pkg.dependencies, engines: pkg.engines },
      greeter: { version: '1.0.0', bin: { greet: 'greet.js' } },
      'node_modules/greeter': { resolved: 'greeter', link: true },
    },
  };
  return {
    'package.json': JSON.stringify(pkg, null, 2),
    'package-lock.json': JSON.stringify(lock, null, 2),
    'greeter/package.json': JSON.stringify({ name: 'greeter', version: '1.0.0', bin: { greet: 'greet.js' } }),
    'greeter/greet.js': '#!/usr/bin/env node\nconsole.log("hello from greet");\n',
    'server.js': SERVER,
  };
}

interface Served {
  npm: Record<string, string>;
  path: string;
  greet: string;
}

async function served(app: string): Promise<Served> {
  const res = await viaRouter(paas, `${app}.localhost`);
  expect(res.status, res.body).toBe(200);
  return JSON.parse(res.body) as Served;
}

async function deploy(app: string, files: Record<string, string>): Promise<string> {
  await createApp(paas, app);
  const r = await push(paas, await gitRepo(paas, files), app);
  expect(r.code, r.stderr).toBe(0);
  return r.stderr;
}

/**
 * The processes of the app's one running dyno: the server's child that leads it (bwrap, or the app
 * itself without a sandbox) and all below it; `app` is the one running server.js.
 */
function dynoProcesses(app: string): { all: ProcessInfo[]; app: ProcessInfo } {
  const server = paas.proc.pid;
  if (server === undefined) throw new Error('the server has no pid');
  const under = descendants(server);
  const byPid = new Map(under.map((p) => [p.pid, p]));
  const apps = under.filter((p) => p.cmdline === 'node server.js' && hasEnv(p.pid, 'PAAS_APP_NAME', app));
  expect(apps, JSON.stringify(under)).toHaveLength(1);
  let root = apps[0];
  while (root.ppid !== server) root = byPid.get(root.ppid)!;
  return { all: [root, ...descendants(root.pid)], app: apps[0] };
}

describe('a start script, run without npm', () => {
  it('sees node_modules/.bin and the npm_* variables npm gives it, as an explicit `web: npm start` does', async () => {
    const direct = await deploy('start-direct', startApp('start-direct'));
    expect(direct).toContain('web: the start script, run without npm: node server.js');
    expect(direct).not.toContain('Warning');
    // The same app with a Procfile that asks for npm: the Procfile wins, and npm runs the script.
    const viaNpm = await deploy('start-npm', { ...startApp('start-npm'), Procfile: 'web: npm start\n' });
    expect(viaNpm).not.toContain('run without npm');

    const ours = await served('start-direct');
    const npms = await served('start-npm');
    expect(ours.greet).toBe('hello from greet');
    expect(npms.greet).toBe('hello from greet');
    expect(ours.path.split(':')[0]).toBe('/app/node_modules/.bin');
    expect(ours.npm).toMatchObject({
      npm_package_name: 'start-direct',
      npm_package_version: '2.3.4',
      npm_package_config_greeting: "it's me",
      npm_package_engines_node: '>=22',
      npm_package_bin_sd: 'server.js',
      npm_package_json: '/app/package.json',
      npm_node_execpath: process.execPath,
      npm_lifecycle_event: 'start',
      npm_lifecycle_script: 'node server.js',
    });
    // Every variable paas sets has the value npm 11 gives it (the name differs between the two apps).
    const npmOwn: Record<string, string> = { ...npms.npm, npm_package_name: 'start-direct' };
    for (const [key, value] of Object.entries(ours.npm)) if (key !== 'npm_config_update_notifier') expect([key, npmOwn[key]]).toEqual([key, value]);
    // What paas leaves out is npm's own configuration and paths.
    const missing = Object.keys(npms.npm).filter((k) => !(k in ours.npm));
    expect(missing.filter((k) => !/^npm_(config_|execpath$|command$)/.test(k))).toEqual([]);
    expect(missing).toContain('npm_execpath');
  });

  it('leaves only the app in the dyno, which gets the SIGTERM itself, at ≤ 5 MB for the platform', async () => {
    const before = dynoProcesses('start-npm');
    expect(before.all.some((p) => /^npm\b/.test(p.cmdline)), JSON.stringify(before.all)).toBe(true);

    const { all, app } = dynoProcesses('start-direct');
    const others = all.filter((p) => p.pid !== app.pid);
    // Nothing but the sandbox's own processes (bwrap's monitor and its PID 1) besides the app: no npm, no shell.
    for (const p of others) expect(p.cmdline).toMatch(/^\S*bwrap /);
    const platformKiB = others.reduce((sum, p) => sum + rssKiB(p.pid), 0);
    const npmKiB = before.all.filter((p) => p.pid !== before.app.pid).reduce((sum, p) => sum + rssKiB(p.pid), 0);
    console.log(`memory besides the app's node: ${(platformKiB / 1024).toFixed(1)} MiB run directly, ${(npmKiB / 1024).toFixed(1)} MiB under npm start`);
    expect(platformKiB).toBeLessThanOrEqual(PLATFORM_MAX_KIB);

    // A new release stops the dyno: the app's own SIGTERM handler runs.
    const set = await cli(paas, ['config:set', 'AGAIN=1', '-a', 'start-direct']);
    expect(set.code, set.stderr).toBe(0);
    await expect.poll(() => fs.existsSync(`/proc/${app.pid}`), { timeout: 10_000 }).toBe(false);
    const logs = async () => (await cli(paas, ['logs', '-n', '100', '-a', 'start-direct'])).stdout;
    await expect.poll(logs, { timeout: 5000 }).toMatch(/app\[web\.1\]: got SIGTERM in start-direct, closing/);
    expect((await served('start-direct')).npm.npm_lifecycle_event).toBe('start');
    // `paas ps` and the log show the start script as the command, not the exports paas runs it under.
    const ps = JSON.parse((await cli(paas, ['ps', '-a', 'start-direct', '--json'])).stdout) as { command: string }[];
    expect(ps.map((d) => d.command)).toContain('node server.js');
    expect(await logs()).toContain('Starting process with command `node server.js`');
  });

  it('keeps `npm start` for an app with a prestart script, and says why', async () => {
    const out = await deploy('start-hooks', startApp('start-hooks', { prestart: 'echo prestart ran' }));
    expect(out).toContain('web: `npm start`, since package.json has a prestart script');
    // No Procfile: the web type is the buildpack's default, and the push says so (as Heroku does).
    expect(out).toContain('Default types for buildpack -> web');
    expect(out).not.toContain('Procfile declares');
    expect((await served('start-hooks')).npm.npm_lifecycle_event).toBe('start');
    const logs = await cli(paas, ['logs', '-n', '100', '-a', 'start-hooks']);
    expect(logs.stdout).toContain('prestart ran');
    expect(dynoProcesses('start-hooks').all.some((p) => /^npm\b/.test(p.cmdline))).toBe(true);
  });
});

describe('the start command and npm_package_* variables', () => {
  it('flattens package.json fields as npm does, and leaves out what bash cannot export', () => {
    const pkg = { name: 'x', version: '1.0.0', description: 'not exported', config: { a: { b: [1, null, false, true] } }, engines: { node: '>=22' }, bin: 'cli.js' };
    expect(packageEnv(pkg)).toEqual({
      env: {
        npm_package_name: 'x',
        npm_package_version: '1.0.0',
        npm_package_config_a_b_0: '1',
        npm_package_config_a_b_1: '',
        npm_package_config_a_b_2: '',
        npm_package_config_a_b_3: 'true',
        npm_package_engines_node: '>=22',
        npm_package_bin: 'cli.js',
      },
      skipped: [],
    });
    // A name no shell exports is dropped silently, as npm's sh drops it; the rest is said.
    expect(packageEnv({ name: 'a\0b', config: { 'x-y': '1', big: 'z'.repeat(70_000) } })).toEqual({ env: {}, skipped: ['npm_package_name', 'npm_package_config_big'] });
    let deep: unknown = 'bottom';
    for (let i = 0; i < 20; i++) deep = { d: deep };
    expect(packageEnv({ config: deep }).skipped).toEqual([`npm_package_config${'_d'.repeat(8)}_*`]);
  });

  it('runs any script in bash with npm_lifecycle_script holding it exactly', async () => {
    for (const script of ['printf %s "$npm_lifecycle_script"', `printf '%s' "$npm_lifecycle_script" # it's a "comment"`, 'true && printf "%s" "$npm_lifecycle_event:$npm_lifecycle_script"']) {
      const r = await sh('/bin/bash', ['-c', startCommand(script)]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(script.startsWith('true') ? `start:${script}` : script);
      // `paas ps` and the dyno log show the script itself, not the exports in front of it.
      expect(shownCommand(startCommand(script))).toBe(script);
    }
    // A Procfile command that only looks like one is shown as written.
    const lookalike = "export npm_lifecycle_event=start npm_lifecycle_script='a'; b";
    expect(shownCommand(lookalike)).toBe(lookalike);
  });
});
