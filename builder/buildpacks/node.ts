import fs from 'node:fs/promises';
import path from 'node:path';
import semver from 'semver';
import { DepCache, hashKey } from '../cache.js';
import { BuildError } from '../errors.js';
import { excerpt, handOver, present, readTreeFile } from '../safe-fs.js';
import type { Buildpack } from '../types.js';

const LOCKFILES = ['package-lock.json', 'npm-shrinkwrap.json'];
/** Lockfiles of big apps run to megabytes; they are only hashed, never shown. */
const LOCKFILE_MAX = 64 * 1024 * 1024;

/** The parts of package.json the buildpack reads; anything may be missing or of another type. */
interface PackageJson {
  scripts?: Record<string, string>;
  engines?: { node?: unknown };
  devDependencies?: Record<string, string>;
}

/**
 * Warns (never fails) when package.json's engines.node leaves out the Node that will run the app:
 * the one running paas, since dynos use its node.
 */
function checkEngines(pkg: PackageJson, log: (line: string) => void): void {
  const range = pkg.engines?.node;
  if (range === undefined) return;
  if (typeof range !== 'string' || semver.validRange(range) === null) {
    log(` !     Warning: package.json engines.node (${excerpt(JSON.stringify(range), 60)}) is not a version range, so paas cannot check it. This app will run on Node ${process.version}; set engines.node to a range such as ">=22".`);
  } else if (!semver.satisfies(process.version, range)) {
    log(` !     Warning: package.json engines.node asks for "${excerpt(range, 60)}", but this app will run on Node ${process.version} (the Node that runs paas), so it may not work. Widen engines.node, or ask the paas operator for a Node that fits.`);
  }
}

async function readPackageJson(dir: string): Promise<PackageJson> {
  const text = (await readTreeFile(dir, 'package.json'))!.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    // V8 quotes the text around the error; keep only what it says, not what the file holds.
    const what = (err as Error).message.split(/,\s*(?:\.\.\.)?"/)[0];
    throw new BuildError(`package.json is not valid JSON (${excerpt(what, 60)}). Fix it and push again.`);
  }
}

export const nodeBuildpack: Buildpack = {
  name: 'Node.js',
  detect: (files) => files.has('package.json'),
  webFrom: ['a `start` script to package.json', 'a `server.js` file'],
  async compile(dir, req) {
    const pkg = await readPackageJson(dir);
    checkEngines(pkg, req.log);
    const lockfile = (await Promise.all(LOCKFILES.map((f) => present(path.join(dir, f))))).findIndex(Boolean);
    // As on Heroku, build steps and the app run with NODE_ENV=production unless the app's config says otherwise.
    const nodeEnv = req.config?.NODE_ENV ?? 'production';
    const step = { tree: dir, log: req.log, env: { NODE_ENV: nodeEnv } };
    const npmFlags = ['--no-audit', '--no-fund', '--no-progress'];
    // Under NODE_ENV=production npm would skip devDependencies, which a build script needs (a
    // compiler, a bundler): install them all, and prune them once the build is done.
    const installFlags = [...npmFlags, '--include=dev'];
    const cache = new DepCache(path.join(req.cacheDir, req.appName), req.steps.owner);

    if (lockfile >= 0) {
      const lock = (await readTreeFile(dir, LOCKFILES[lockfile], LOCKFILE_MAX))!;
      const key = hashKey(lock, process.version);
      if (await cache.restore('node', key, path.join(dir, 'node_modules'))) {
        req.log('-----> Lockfile unchanged: using cached node_modules, skipping install');
      } else {
        req.log('-----> Installing dependencies with npm ci');
        await req.steps.run(['npm', 'ci', ...installFlags], { ...step, failure: 'npm ci failed' });
        // A lockfile with no dependencies installs nothing; cache the empty tree so the next build skips npm too.
        // Not recursive: an existing entry (even a dangling link left by an install script) is never followed.
        if (!(await present(path.join(dir, 'node_modules')))) {
          await fs.mkdir(path.join(dir, 'node_modules'));
          if (req.steps.owner) await handOver(path.join(dir, 'node_modules'), req.steps.owner);
        }
        await cache.save('node', key, path.join(dir, 'node_modules'), undefined, req.log);
      }
    } else {
      req.log('-----> Installing dependencies with npm install (no lockfile; commit package-lock.json for cached, repeatable installs)');
      await req.steps.run(['npm', 'install', ...installFlags], { ...step, failure: 'npm install failed' });
    }

    if (pkg.scripts?.build) {
      req.log('-----> Running build script');
      await req.steps.run(['npm', 'run', 'build'], { ...step, failure: 'npm run build failed' });
    }
    // The cache keeps the full install; only the slug loses the devDependencies. An app that sets
    // another NODE_ENV asked for a development setup and keeps them.
    if (nodeEnv === 'production' && Object.keys(pkg.devDependencies ?? {}).length > 0) {
      req.log('-----> Pruning devDependencies');
      await req.steps.run(['npm', 'prune', '--omit=dev', ...npmFlags], { ...step, failure: 'npm prune failed' });
    }

    const processTypes: Record<string, string> = {};
    if (pkg.scripts?.start) processTypes.web = 'npm start';
    else if (await present(path.join(dir, 'server.js'))) processTypes.web = 'node server.js';
    return { processTypes, pathPrepend: ['node_modules/.bin'], env: { NODE_ENV: 'production' } };
  },
};
