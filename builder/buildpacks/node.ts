import fs from 'node:fs/promises';
import path from 'node:path';
import { DepCache, hashKey } from '../cache.js';
import { BuildError } from '../errors.js';
import { excerpt, handOver, present, readTreeFile } from '../safe-fs.js';
import type { Buildpack } from '../types.js';

const LOCKFILES = ['package-lock.json', 'npm-shrinkwrap.json'];
/** Lockfiles of big apps run to megabytes; they are only hashed, never shown. */
const LOCKFILE_MAX = 64 * 1024 * 1024;

async function readPackageJson(dir: string): Promise<{ scripts?: Record<string, string> }> {
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
    const lockfile = (await Promise.all(LOCKFILES.map((f) => present(path.join(dir, f))))).findIndex(Boolean);
    const step = { tree: dir, log: req.log };
    const npmFlags = ['--no-audit', '--no-fund', '--no-progress'];
    const cache = new DepCache(path.join(req.cacheDir, req.appName), req.steps.owner);

    if (lockfile >= 0) {
      const lock = (await readTreeFile(dir, LOCKFILES[lockfile], LOCKFILE_MAX))!;
      const key = hashKey(lock, process.version);
      if (await cache.restore('node', key, path.join(dir, 'node_modules'))) {
        req.log('-----> Lockfile unchanged: using cached node_modules, skipping install');
      } else {
        req.log('-----> Installing dependencies with npm ci');
        await req.steps.run(['npm', 'ci', ...npmFlags], { ...step, failure: 'npm ci failed' });
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
      await req.steps.run(['npm', 'install', ...npmFlags], { ...step, failure: 'npm install failed' });
    }

    if (pkg.scripts?.build) {
      req.log('-----> Running build script');
      await req.steps.run(['npm', 'run', 'build'], { ...step, failure: 'npm run build failed' });
    }

    const processTypes: Record<string, string> = {};
    if (pkg.scripts?.start) processTypes.web = 'npm start';
    else if (await present(path.join(dir, 'server.js'))) processTypes.web = 'node server.js';
    return { processTypes, pathPrepend: ['node_modules/.bin'] };
  },
};
