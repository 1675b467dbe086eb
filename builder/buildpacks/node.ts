import fs from 'node:fs/promises';
import path from 'node:path';
import { DepCache, hashKey } from '../cache.js';
import { BuildError } from '../errors.js';
import { runStep } from '../exec.js';
import type { Buildpack } from '../types.js';

const LOCKFILES = ['package-lock.json', 'npm-shrinkwrap.json'];

async function readPackageJson(dir: string): Promise<{ scripts?: Record<string, string> }> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, 'package.json'), 'utf8'));
  } catch (err) {
    throw new BuildError(`package.json is not valid JSON (${(err as Error).message}). Fix it and push again.`);
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(() => true, () => false);
}

export const nodeBuildpack: Buildpack = {
  name: 'Node.js',
  detect: (files) => files.has('package.json'),
  async compile(dir, req) {
    const pkg = await readPackageJson(dir);
    const lockfile = (await Promise.all(LOCKFILES.map((f) => exists(path.join(dir, f))))).findIndex(Boolean);
    const step = { cwd: dir, env: req.env, log: req.log };
    const npmFlags = ['--no-audit', '--no-fund', '--no-progress'];
    const cache = new DepCache(path.join(req.cacheDir, req.appName));

    if (lockfile >= 0) {
      const lock = await fs.readFile(path.join(dir, LOCKFILES[lockfile]!));
      const key = hashKey(lock, process.version);
      if (await cache.restore('node', key, path.join(dir, 'node_modules'))) {
        req.log('-----> Lockfile unchanged: using cached node_modules, skipping install');
      } else {
        req.log('-----> Installing dependencies with npm ci');
        await runStep(['npm', 'ci', ...npmFlags], { ...step, failure: 'npm ci failed' });
        // A lockfile with no dependencies installs nothing; cache the empty tree so the next build skips npm too.
        await fs.mkdir(path.join(dir, 'node_modules'), { recursive: true });
        await cache.save('node', key, path.join(dir, 'node_modules'));
      }
    } else {
      req.log('-----> Installing dependencies with npm install (no lockfile; commit package-lock.json for cached, repeatable installs)');
      await runStep(['npm', 'install', ...npmFlags], { ...step, failure: 'npm install failed' });
    }

    if (pkg.scripts?.build) {
      req.log('-----> Running build script');
      await runStep(['npm', 'run', 'build'], { ...step, failure: 'npm run build failed' });
    }

    const processTypes: Record<string, string> = {};
    if (pkg.scripts?.start) processTypes.web = 'npm start';
    else if (await exists(path.join(dir, 'server.js'))) processTypes.web = 'node server.js';
    return { processTypes, pathPrepend: ['node_modules/.bin'] };
  },
};
