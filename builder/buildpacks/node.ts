import fs from 'node:fs/promises';
import path from 'node:path';
import { DepCache, hashKey } from '../cache.js';
import { BuildError } from '../errors.js';
import { parseJsonFile } from '../json-file.js';
import { engineNode, nodeHomeSeen } from '../node-versions.js';
import { excerpt, handOver, present, readTreeFile } from '../safe-fs.js';
import type { BuildPlan, Buildpack, PlanContext, PlanStep } from '../types.js';
import { packageEnv, startCommand } from './npm-start.js';

const LOCKFILES = ['package-lock.json', 'npm-shrinkwrap.json'];
/** Lockfiles of big apps run to megabytes; they are only hashed, never shown. */
const LOCKFILE_MAX = 64 * 1024 * 1024;

/** The parts of package.json the buildpack reads; anything may be missing or of another type. */
interface PackageJson {
  [field: string]: unknown;
  scripts?: Record<string, unknown>;
  engines?: { node?: unknown };
  devDependencies?: Record<string, string>;
}

async function readPackageJson(dir: string): Promise<PackageJson> {
  const text = (await readTreeFile(dir, 'package.json'))!.toString('utf8');
  // Strict JSON, as npm reads it; an error names its line and column.
  const pkg = parseJsonFile('package.json', text, 'json');
  if (typeof pkg !== 'object' || pkg === null || Array.isArray(pkg)) throw new BuildError('package.json must hold a JSON object ({ "name": … }). Fix it and push again.');
  return pkg as PackageJson;
}

/**
 * The default web process and what the build says of it. A start script runs as npm would run it,
 * without npm; with a prestart or poststart script it stays `npm start`, since only npm runs those
 * the way it does (each in a shell of its own, poststart once the server has exited).
 */
function webProcess(pkg: PackageJson): { command: string; note?: string } | undefined {
  const { start, prestart, poststart } = pkg.scripts ?? {};
  if (!start) return undefined;
  if (typeof start !== 'string') return { command: 'npm start' };
  const hooks = [prestart && 'prestart', poststart && 'poststart'].filter(Boolean);
  if (hooks.length === 0) return { command: startCommand(start), note: `web: the start script, run without npm: ${excerpt(start, 200)}` };
  return {
    command: 'npm start',
    note:
      `web: \`npm start\`, since package.json has a ${hooks.join(' and a ')} script, which npm runs around the start script; ` +
      'npm stays in every dyno (~65 MB) for it. Move that step to the build script or a Procfile `release` command, and the start script runs without npm.',
  };
}

/** The npm_package_* and other variables every process of the app gets, from package.json as `npm start` would read it. */
function processEnv(pkg: PackageJson, ctx: Pick<PlanContext, 'appPath' | 'nodePath' | 'log'>): Record<string, string> {
  // The npm_package_* variables npm gives a script go to every process of the app; npm itself
  // sets the same, so a Procfile `npm run …` sees no difference.
  const npm = packageEnv(pkg);
  if (npm.skipped.length > 0) {
    const names = npm.skipped.slice(0, 3).join(', ') + (npm.skipped.length > 3 ? ` and ${npm.skipped.length - 3} more` : '');
    ctx.log(` !     Warning: some package.json fields do not become npm_package_* variables of the app (a NUL, nested too deep, or over 64 KiB in all): ${excerpt(names, 200)}.`);
  }
  return { NODE_ENV: 'production', ...npm.env, npm_package_json: path.posix.join(ctx.appPath, 'package.json'), npm_node_execpath: ctx.nodePath };
}

/** Default process types, and notes on how they run, from package.json and the tree. */
async function processes(dir: string, pkg: PackageJson): Promise<Pick<BuildPlan, 'processTypes' | 'notes'>> {
  const web = webProcess(pkg);
  const processTypes: Record<string, string> = {};
  if (web) processTypes.web = web.command;
  else if (await present(path.join(dir, 'server.js'))) processTypes.web = 'node server.js';
  return { processTypes, notes: web?.note ? { web: web.note } : undefined };
}

const NPM_FLAGS = ['--no-audit', '--no-fund', '--no-progress'];

/** The Node.js plan, plus what the host executor needs to key its dependency cache. */
async function nodePlan(dir: string, ctx: PlanContext): Promise<BuildPlan & { pkg: PackageJson; lockfile?: string }> {
  const pkg = await readPackageJson(dir);
  const lockfile = LOCKFILES[(await Promise.all(LOCKFILES.map((f) => present(path.join(dir, f))))).findIndex(Boolean)];
  // As on Heroku, build steps and the app run with NODE_ENV=production unless the app's config says otherwise.
  const nodeEnv = ctx.config?.NODE_ENV ?? 'production';
  // Under NODE_ENV=production npm would skip devDependencies, which a build script needs (a
  // compiler, a bundler): install them all, and prune them once the build is done.
  const installFlags = [...NPM_FLAGS, '--include=dev'];
  const install = lockfile
    ? { heading: '-----> Installing dependencies with npm ci', argv: ['npm', 'ci', ...installFlags], failure: 'npm ci failed' }
    : {
        heading: '-----> Installing dependencies with npm install (no lockfile; commit package-lock.json for cached, repeatable installs)',
        argv: ['npm', 'install', ...installFlags],
        failure: 'npm install failed',
      };
  const build = [];
  if (pkg.scripts?.build) build.push({ heading: '-----> Running build script', argv: ['npm', 'run', 'build'], failure: 'npm run build failed' });
  // The cache keeps the full install; only the slug loses the devDependencies. An app that sets
  // another NODE_ENV asked for a development setup and keeps them.
  if (nodeEnv === 'production' && Object.keys(pkg.devDependencies ?? {}).length > 0) {
    build.push({ heading: '-----> Pruning devDependencies', argv: ['npm', 'prune', '--omit=dev', ...NPM_FLAGS], failure: 'npm prune failed' });
  }
  return {
    pkg,
    lockfile,
    depsFiles: ['package.json', ...(lockfile ? [lockfile] : [])],
    install: [install],
    build,
    stepEnv: { NODE_ENV: nodeEnv },
    paasFiles: {},
    enginesNode: pkg.engines?.node,
    ...(await processes(dir, pkg)),
    pathPrepend: ['node_modules/.bin'],
    env: processEnv(pkg, { ...ctx, log: () => undefined }),
  };
}

export const nodeBuildpack: Buildpack = {
  name: 'Node.js',
  detect: (files) => files.has('package.json'),
  webFrom: ['a `start` script to package.json', 'a `server.js` file'],
  plan: nodePlan,
  async compile(dir, req) {
    const pkg = await readPackageJson(dir);
    // engines.node, as on Heroku: build steps and dynos run on that Node, installed if not the platform's.
    const node = await engineNode(pkg.engines?.node, req);
    const nodePath = node ? path.join(nodeHomeSeen(node, req.steps.pathOf(dir) !== dir), 'bin', 'node') : process.execPath;
    const ctx = { appPath: req.steps.pathOf(dir), nodePath, config: req.config, log: req.log };
    const plan = await nodePlan(dir, ctx);
    const step = { tree: dir, log: req.log, env: plan.stepEnv, node };
    const run = async (s: PlanStep) => {
      req.log(s.heading);
      await req.steps.run(s.argv, { ...step, failure: s.failure });
    };
    const cache = new DepCache(path.join(req.cacheDir, req.appName), req.steps.owner);

    if (plan.lockfile) {
      const lock = (await readTreeFile(dir, plan.lockfile, LOCKFILE_MAX))!;
      // Native modules are built for one Node: the key names the one they were built with.
      const key = hashKey(lock, node ? `v${node.version}` : process.version);
      if (await cache.restore('node', key, path.join(dir, 'node_modules'))) {
        req.log('-----> Lockfile unchanged: using cached node_modules, skipping install');
      } else {
        for (const s of plan.install) await run(s);
        // A lockfile with no dependencies installs nothing; cache the empty tree so the next build skips npm too.
        // Not recursive: an existing entry (even a dangling link left by an install script) is never followed.
        if (!(await present(path.join(dir, 'node_modules')))) {
          await fs.mkdir(path.join(dir, 'node_modules'));
          if (req.steps.owner) await handOver(path.join(dir, 'node_modules'), req.steps.owner);
        }
        await cache.save('node', key, path.join(dir, 'node_modules'), undefined, req.log);
      }
    } else {
      for (const s of plan.install) await run(s);
    }
    for (const s of plan.build) await run(s);

    // What `npm start` would read: package.json as the build left it (a build that removed it leaves the pushed one).
    const final = (await present(path.join(dir, 'package.json'))) ? await readPackageJson(dir) : plan.pkg;
    return { ...(await processes(dir, final)), pathPrepend: plan.pathPrepend, env: processEnv(final, ctx), node: node?.version };
  },
};
