import path from 'node:path';
import { BuildError } from '../errors.js';
import { parseJsonFile } from '../json-file.js';
import { excerpt, present, readTreeFile } from '../safe-fs.js';
import { corepackFor } from '../tools.js';
import type { BuildPlan, Buildpack, PlanContext, PlanStep } from '../types.js';
import type { NodePlan, PackageJson } from './node-plan.js';
import { compileNode } from './node-compile.js';
import { installCache, installInputs, INSTALL_SCRIPTS, LOCAL_SPEC, writtenLockfile } from './install-key.js';
import { packageEnv, startCommand } from './npm-start.js';
import { choosePackageManager, type PackageManager } from './package-manager.js';
import { pmSteps } from './pm-steps.js';

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
function processEnv(pkg: PackageJson, ctx: Pick<PlanContext, 'appPath' | 'nodePath' | 'node' | 'log'>, node: string): Record<string, string> {
  // The npm_package_* variables npm gives a script go to every process of the app; npm itself
  // sets the same, so a Procfile `npm run …` sees no difference.
  const npm = packageEnv(pkg);
  if (npm.skipped.length > 0) {
    const names = npm.skipped.slice(0, 3).join(', ') + (npm.skipped.length > 3 ? ` and ${npm.skipped.length - 3} more` : '');
    ctx.log(` !     Warning: some package.json fields do not become npm_package_* variables of the app (a NUL, nested too deep, or over 64 KiB in all): ${excerpt(names, 200)}.`);
  }
  const execPath = ctx.node ? ctx.node.pathOf(node) : ctx.nodePath;
  return { NODE_ENV: 'production', ...npm.env, npm_package_json: path.posix.join(ctx.appPath, 'package.json'), npm_node_execpath: execPath };
}

/** Default process types, and notes on how they run, from package.json and the tree. */
async function processes(dir: string, pkg: PackageJson): Promise<Pick<BuildPlan, 'processTypes' | 'notes'>> {
  const web = webProcess(pkg);
  const processTypes: Record<string, string> = {};
  if (web) processTypes.web = web.command;
  else if (await present(path.join(dir, 'server.js'))) processTypes.web = 'node server.js';
  return { processTypes, notes: web?.note ? { web: web.note } : undefined };
}


/** A config var that turns devDependency pruning off, as on Heroku ("false", any case). */
function pruneOff(config: Record<string, string> | undefined): string | undefined {
  return ['NPM_CONFIG_PRODUCTION', 'YARN_PRODUCTION'].find((k) => config?.[k]?.toLowerCase() === 'false');
}

/** The environment the app's processes need for its package manager to work at run time. */
function pmEnv(pm: PackageManager, pkg: PackageJson, appPath: string): Record<string, string> {
  const env: Record<string, string> = {};
  // Plug'n'Play resolves packages only in processes that load its runtime (yarn run does): every process of the app does.
  if (pm.pnp) env.NODE_OPTIONS = `--require ${path.posix.join(appPath, '.pnp.cjs')}${pkg.type === 'module' ? ` --experimental-loader ${path.posix.join(appPath, '.pnp.loader.mjs')}` : ''}`;
  // pnpm 11 checks node_modules before `pnpm run`/`pnpm start` against the paths of the install, and
  // a dyno that runs a copy of the slug elsewhere would reinstall: a warning, as on Heroku.
  if (pm.name === 'pnpm' && pm.tool && Number(pm.tool.version.split('.')[0]) >= 11) env.pnpm_config_verify_deps_before_run = 'warn';
  return env;
}

/** Whether the install needs more of the tree than its inputs: dependencies in the tree, install scripts, heroku-prebuild. */
function needsTree(pkg: PackageJson, prepare: PlanStep[]): boolean {
  const specs = ['dependencies', 'devDependencies', 'optionalDependencies'].flatMap((f) => Object.values((pkg[f] ?? {}) as Record<string, unknown>));
  return prepare.length > 0 || INSTALL_SCRIPTS.some((s) => pkg.scripts?.[s] !== undefined) || specs.some((v) => typeof v === 'string' && LOCAL_SPEC.test(v));
}

/** package.json's cacheDirectories: relative paths inside the tree; others are warned about and left out. */
function cacheDirectories(pkg: PackageJson, log: (line: string) => void): string[] {
  const listed = pkg.cacheDirectories ?? pkg.cache_directories;
  if (listed === undefined) return [];
  const ok = (Array.isArray(listed) ? listed : [listed]).filter((d): d is string => typeof d === 'string' && d !== '' && !path.isAbsolute(d) && !d.split('/').some((p) => p === '..' || p === '.paas'));
  if (!Array.isArray(listed) || ok.length !== listed.length) log(' !     Warning: package.json cacheDirectories must list paths inside the app (such as "node_modules" or ".next/cache"); the others are left out.');
  return [...new Set(ok.map((d) => path.posix.normalize(d).replace(/\/$/, '')))].filter((d) => d !== '.').slice(0, 20);
}

/** The Node.js plan: which Node and package manager, and the steps Heroku's Node buildpack runs. */
async function nodePlan(dir: string, ctx: PlanContext): Promise<NodePlan> {
  const pkg = await readPackageJson(dir);
  // As on Heroku, build steps and the app run with NODE_ENV=production unless the app's config says otherwise.
  const nodeEnv = ctx.config?.NODE_ENV ?? 'production';
  const platform = ctx.node?.platform ?? process.versions.node;
  const version = pkg.engines?.node !== undefined && ctx.node ? await ctx.node.resolve(pkg.engines.node) : platform;
  const pm = await choosePackageManager(dir, pkg, { version, own: version === platform, platformNpm: ctx.node?.platformNpm }, ctx.npmEnv);
  if (pm.warning) ctx.log(` !     Warning: ${pm.warning}`);
  const off = pruneOff(ctx.config);
  // The cache keeps the full install; only the slug loses the devDependencies. An app that sets
  // another NODE_ENV asked for a development setup and keeps them.
  const devDeps = Object.keys(pkg.devDependencies ?? {}).length > 0;
  if (off && devDeps && nodeEnv === 'production') ctx.log(`-----> Keeping devDependencies in the slug (${off}=false)`);
  const yarnrc = pm.berry ? ((await readTreeFile(dir, '.yarnrc.yml')) ?? Buffer.alloc(0)).toString('utf8') : '';
  const steps = pmSteps({
    pm,
    scripts: pkg.scripts ?? {},
    prune: nodeEnv === 'production' && !off && devDeps,
    cachePath: ctx.cachePath ?? '/tmp/paas-cache',
    zeroInstall: await present(path.join(dir, '.yarn', 'cache')),
    workspaceTools: /plugin-workspace-tools/.test(yarnrc),
  });
  if (steps.note) ctx.log(steps.note);
  const tools = [...(pm.npm ? [{ ...pm.npm, why: `for Node.js ${version}` }] : []), ...(pm.tool ? [{ ...pm.tool, why: pm.why }] : [])];
  const depsFiles = await installInputs(dir, pm);
  // Workspaces install into every package of the tree, which the install's output alone does not hold.
  const workspaces = pkg.workspaces !== undefined || /^packages\s*:/m.test(((await readTreeFile(dir, 'pnpm-workspace.yaml')) ?? '').toString());
  // A root binding.gyp (no install script of its own) has npm build the addon from the tree's sources.
  const depsNeedTree = workspaces || needsTree(pkg, steps.prepare) || (depsFiles.includes('binding.gyp') && pkg.gypfile !== false);
  const runEnv = pmEnv(pm, pkg, ctx.appPath);
  return {
    pkg,
    pm,
    installed: [...steps.installed, ...writtenLockfile(pm)],
    installCache: installCache(pkg, pm, depsFiles, workspaces),
    cacheDirectories: cacheDirectories(pkg, ctx.log),
    pmEnv: runEnv,
    depsFiles,
    depsNeedTree,
    prepare: steps.prepare,
    install: steps.install,
    build: steps.build,
    finish: steps.finish,
    buildUsesCache: steps.buildUsesCache,
    stepEnv: { NODE_ENV: nodeEnv, ...steps.stepEnv },
    paasFiles: {},
    node: version === platform ? undefined : version,
    tools,
    corepack: tools.length > 0 ? await corepackFor(platform, ctx.npmEnv) : undefined,
    ...(await processes(dir, pkg)),
    pathPrepend: ['node_modules/.bin'],
    env: { ...processEnv(pkg, { ...ctx, log: () => undefined }, version), ...runEnv },
  };
}

export const nodeBuildpack: Buildpack = {
  name: 'Node.js',
  detect: (files) => files.has('package.json'),
  webFrom: ['a `start` script to package.json', 'a `server.js` file'],
  plan: nodePlan,
  compile: (dir, req) =>
    compileNode(dir, req, {
      plan: nodePlan,
      async final(tree, plan, ctx, asPlanned) {
        // What `npm start` would read: package.json as the build left it (a build that removed it leaves the pushed one).
        // With no step run, the tree is as the plan read it: its package.json and processes stand.
        const pkg = !asPlanned && (await present(path.join(tree, 'package.json'))) ? await readPackageJson(tree) : plan.pkg;
        const env = { ...processEnv(pkg, ctx, plan.node ?? ctx.node!.platform), ...plan.pmEnv };
        return { ...(asPlanned ? { processTypes: plan.processTypes, notes: plan.notes } : await processes(tree, pkg)), env };
      },
    }),
};
