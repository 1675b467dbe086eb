// Carries out the Node.js plan on the host (directory slugs): installs the app's Node and package
// managers, runs the steps through the app's sandbox, and keeps the per-app caches: the dependency
// install (keyed by everything that decides it), the package manager's downloads, cacheDirectories.
import fs from 'node:fs/promises';
import path from 'node:path';
import { DepCache, hashKey, restoreTree, saveTree } from '../cache.js';
import { BuildError } from '../errors.js';
import { installNode, type NodeInstall, nodeHomeSeen, platformNode, resolveEnginesNode } from '../node-versions.js';
import { npmEnv } from '../npm-view.js';
import { excerpt, handOver, present, readTreeFile } from '../safe-fs.js';
import { installTools, type ToolRef } from '../tools.js';
import type { BuildRequest, PlanContext, PlanStep, Slug } from '../types.js';
import { changedInputs, coveredBy, installCache, installInputs, type InstallKey, installKey, presentInTree } from './install-key.js';
import type { NodePlan } from './node-plan.js';
import { runApart } from '../../lib/run-apart.js';

const run = runApart;
/**
 * The build's package-manager cache (npm cache, yarn cache, pnpm store), in the tree under paas's
 * reserved `.paas`, so it lasts from one step to the next (a step's /tmp does not) on the same
 * filesystem as node_modules; it is removed before the slug is finished.
 */
const BUILD_CACHE = '.paas/cache';
let hostNpm: Promise<string | undefined> | undefined;

/** The version of the npm on the paas host's PATH (the platform's own), asked once. */
function hostNpmVersion(): Promise<string | undefined> {
  hostNpm ??= run('npm', ['--version'], { env: npmEnv(), timeout: 30_000 }).then(
    (r) => r.stdout.trim() || undefined,
    () => undefined,
  );
  return hostNpm;
}

/** What the buildpack's plan and the tree after the build give the slug: its processes and their environment. */
export interface NodeHelpers {
  plan: (dir: string, ctx: PlanContext) => Promise<NodePlan>;
  /**
   * Process types, notes and environment from package.json as the build left it; `asPlanned`: no
   * step ran and no cache was restored over the tree's files, so it is as the plan read it.
   */
  final: (dir: string, plan: NodePlan, ctx: PlanContext, asPlanned: boolean) => Promise<Pick<Slug, 'processTypes' | 'env'> & { notes?: Record<string, string> }>;
}

/** package.json as heroku-prebuild left it; undefined when it is no JSON object any more (the install then says why). */
async function prebuiltPackageJson(dir: string): Promise<NodePlan['pkg'] | undefined> {
  try {
    const pkg: unknown = JSON.parse(((await readTreeFile(dir, 'package.json')) ?? '').toString('utf8'));
    return pkg && typeof pkg === 'object' && !Array.isArray(pkg) ? (pkg as NodePlan['pkg']) : undefined;
  } catch {
    return undefined;
  }
}

/** The key of the plan's install (install-key.ts), or why it runs on every build. */
async function cacheKey(dir: string, plan: NodePlan, on: { node: string; npm?: string; config?: Record<string, string>; hostNpmEnv?: Record<string, string> }): Promise<InstallKey | { why: string }> {
  // heroku-prebuild ran before the install and may have rewritten package.json: the install reads it as it is now.
  const pkg = plan.prepare?.length ? await prebuiltPackageJson(dir) : plan.pkg;
  if (!pkg) return { why: 'heroku-prebuild left no package.json object' };
  // After heroku-prebuild (app code) the files the install reads are looked for again: it may have
  // written a .npmrc or patches. Found through real directories only.
  const files = plan.prepare?.length ? await installInputs(dir, plan.pm) : plan.depsFiles;
  const cacheable = (pkg === plan.pkg && files === plan.depsFiles) || !('files' in plan.installCache) ? plan.installCache : installCache(pkg, plan.pm, files, false);
  if (!('files' in cacheable)) return cacheable;
  // What the install makes may already be in the tree (a committed node_modules, one heroku-prebuild
  // made): npm install, yarn and pnpm keep parts of it, so it is an input too. Usually absent: free.
  const there = await presentInTree(dir, plan.installed);
  return installKey({
    dir,
    pkg,
    files: [...cacheable.files, ...there],
    node: on.node,
    pm: { name: plan.pm.name, version: plan.pm.tool?.version ?? on.npm ?? 'the platform\'s' },
    argv: plan.install.map((s) => s.argv),
    nodeEnv: plan.stepEnv.NODE_ENV ?? '',
    config: on.config,
    hostNpmEnv: on.hostNpmEnv,
  });
}

/** The Node.js buildpack's compile on the host: see the file's head. */
export async function compileNode(dir: string, req: BuildRequest, helpers: NodeHelpers): Promise<Pick<Slug, 'processTypes' | 'pathPrepend' | 'env' | 'node' | 'tools'> & { notes?: Record<string, string> }> {
  const sandboxed = req.steps.pathOf(dir) !== dir;
  const platform = platformNode();
  const ctx: PlanContext = {
    appPath: req.steps.pathOf(dir),
    nodePath: process.execPath,
    config: req.config,
    log: req.log,
    cachePath: path.posix.join(req.steps.pathOf(dir), BUILD_CACHE),
    npmEnv: req.hostNpmEnv,
    node: {
      platform,
      platformNpm: await hostNpmVersion(),
      resolve: (range) => resolveEnginesNode(range, { npmEnv: req.hostNpmEnv }),
      pathOf: (v) => (v === platform ? process.execPath : path.join(nodeHomeSeen({ version: v, home: path.join(req.nodeCacheDir ?? '', v) }, sandboxed), 'bin', 'node')),
    },
  };
  const plan = await helpers.plan(dir, ctx);
  const range = plan.pkg.engines?.node;
  const why = `engines.node: ${excerpt(String(range), 60)}`;
  let node: NodeInstall | undefined;
  if (plan.node) {
    if (!req.nodeCacheDir) throw new BuildError(`package.json engines.node needs Node.js ${plan.node}, but this build cannot install Node versions. Fix engines.node to include ${platform} and push again.`);
    req.log(`-----> Installing node ${plan.node} (${why})`);
    node = { version: plan.node, home: await installNode(plan.node, req.nodeCacheDir, req.log, req.hostNpmEnv) };
  } else if (range !== undefined) {
    req.log(`-----> Using node ${platform} (${why}; the platform's own Node)`);
  }
  const tools: ToolRef[] = (plan.tools ?? []).map(({ why: _, ...tool }) => tool);
  for (const tool of plan.tools ?? []) {
    if (!req.toolsDir) throw new BuildError(`This app builds with ${tool.name} ${tool.version} (${tool.why}), but this build cannot install package managers. Build it with the platform's npm and push again.`);
    req.log(`-----> Installing ${tool.name} ${tool.version} (${tool.why})`);
    await installTools([tools.find((t) => t.dir === tool.dir)!], req.toolsDir, plan.corepack!, req.log, req.hostNpmEnv);
  }

  const step = { tree: dir, log: req.log, env: plan.stepEnv, node, tools };
  // `.paas` holds the build's package-manager cache (BUILD_CACHE), made before the first step or
  // restore of that cache: a code-only push that runs no step makes and removes nothing. The
  // unpack refused a pushed `.paas` and no app code has run before that first step: it is fresh.
  let made: Promise<void> | undefined;
  const buildCache = () =>
    (made ??= (async () => {
      await fs.mkdir(path.join(dir, '.paas'));
      await fs.mkdir(path.join(dir, BUILD_CACHE));
      if (req.steps.owner) await handOver(path.join(dir, '.paas'), req.steps.owner);
    })());
  let ranSteps = false;
  const runStep = async (s: PlanStep) => {
    ranSteps = true;
    await buildCache();
    req.log(s.heading);
    await req.steps.run(s.argv, { ...step, failure: s.failure, hints: s.hints });
  };
  const cache = new DepCache(path.join(req.cacheDir, req.appName), req.steps.owner);
  // What the package manager's downloads and cacheDirectories depend on: the Node (native modules
  // are built for one), the package manager and its version, and NODE_ENV. The install's own key
  // (install-key.ts) covers these and every other input of the install.
  const pmId = plan.pm.tool ? `${plan.pm.tool.name}@${plan.pm.tool.version}` : 'npm (platform)';
  const signature = hashKey(`v${node?.version ?? platform}`, pmId, plan.stepEnv.NODE_ENV ?? '');
  const restored = plan.cacheDirectories.length > 0 ? await restoreTree(cache, 'dirs', signature, dir, req.steps.owner) : undefined;
  if (restored?.length) req.log(`-----> Restoring cacheDirectories (package.json): ${restored.join(', ')}`);
  for (const s of plan.prepare ?? []) await runStep(s);

  const what = plan.pm.pnp ? "the Yarn Plug'n'Play install" : 'node_modules';
  const keyed = await cacheKey(dir, plan, { node: node?.version ?? platform, npm: ctx.node?.platformNpm, config: req.config, hostNpmEnv: req.hostNpmEnv });
  const key = 'key' in keyed ? keyed : undefined;
  if (key && (await restoreTree(cache, 'node', key.key, dir, req.steps.owner))?.length) {
    req.log(`-----> Dependencies unchanged since the last build (${coveredBy(key.inputs)}): reusing ${what}`);
    // Pruning reads the downloads the install made (yarn 1) or the store it filled (pnpm).
    if (plan.buildUsesCache) await buildCache().then(() => restoreTree(cache, 'pm', signature, dir, req.steps.owner));
  } else {
    // What the last install was made from: read only when this build installs, to say what changed.
    const last = key && (await cache.note('node').then((t) => (t ? (JSON.parse(t) as Record<string, string>) : undefined)).catch(() => undefined));
    if ('why' in keyed) req.log(`-----> The install runs on every build: ${keyed.why}`);
    else if (last) {
      const changed = changedInputs(last, keyed.inputs);
      req.log(changed.length > 0 ? `-----> Dependencies changed since the last build (${changed.join(', ')}): installing` : `-----> The last build's ${what} is no longer in the cache: installing`);
    }
    // The downloads of the last install: only what changed since comes from the registry.
    await buildCache();
    await restoreTree(cache, 'pm', signature, dir, req.steps.owner);
    for (const s of plan.install) await runStep(s);
    // A lockfile with no dependencies installs nothing; cache the empty tree so the next build skips the install too.
    // Not recursive: an existing entry (even a dangling link left by an install script) is never followed.
    if (!plan.pm.pnp && !(await present(path.join(dir, 'node_modules')))) {
      await fs.mkdir(path.join(dir, 'node_modules'));
      if (req.steps.owner) await handOver(path.join(dir, 'node_modules'), req.steps.owner);
    }
    // Saved before the build scripts run: the entry is what the install made, as a fresh install makes it.
    if (key && (await saveTree(cache, 'node', key.key, dir, plan.installed, req.log))) await cache.setNote('node', JSON.stringify(key.inputs));
    await saveTree(cache, 'pm', signature, dir, [BUILD_CACHE], req.log);
  }
  for (const s of plan.build) await runStep(s);
  // As on Heroku: cacheDirectories are saved after the build, before devDependencies are pruned.
  if (plan.cacheDirectories.length > 0) await saveTree(cache, 'dirs', signature, dir, plan.cacheDirectories, req.log);
  for (const s of plan.finish ?? []) await runStep(s);
  // Not into the slug. rm never follows a link: one that app code left at `.paas` goes, not its target.
  await fs.rm(path.join(dir, '.paas'), { recursive: true, force: true });

  return { ...(await helpers.final(dir, plan, ctx, !ranSteps && !restored?.length)), pathPrepend: plan.pathPrepend, node: node?.version, tools: tools.length ? tools : undefined };
}
