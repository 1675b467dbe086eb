import fs from 'node:fs/promises';
import path from 'node:path';
import { DepCache, hashKey } from '../cache.js';
import { BuildError } from '../errors.js';
import { entryKind, present, readTreeFile, rewriteTreeFile } from '../safe-fs.js';
import type { BuildPlan, Buildpack, PlanContext } from '../types.js';

const VENV = '.venv';
const SCRIPT_MAX = 1024 * 1024;

/**
 * A venv records its own absolute path in bin/ scripts (shebangs, activate). A venv restored from
 * the cache still names the build it was made in, so point those files at the new location. The
 * cache entry was written by an earlier build's install, so nothing in it is trusted: only a real
 * bin/ directory is entered, and only regular files with a single name are rewritten.
 */
async function relocateVenv(venv: string, from: string, to: string): Promise<void> {
  const bin = path.join(venv, 'bin');
  if ((await entryKind(bin)) !== 'dir') {
    throw new BuildError('The cached virtualenv has no bin/ directory (a build step replaced it). Change requirements.txt so it is rebuilt, and push again.');
  }
  for (const name of await fs.readdir(bin)) {
    const file = path.join(bin, name);
    const stat = await fs.lstat(file);
    if (!stat.isFile() || stat.nlink !== 1 || stat.size > SCRIPT_MAX) continue;
    const text = (await readTreeFile(bin, name, SCRIPT_MAX))!.toString('latin1');
    if (text.includes(from)) await rewriteTreeFile(file, Buffer.from(text.split(from).join(to), 'latin1'));
  }
}

/** The Python plan: a virtualenv at `<appPath>/.venv` (a venv records its own absolute path), then pip. */
async function pythonPlan(dir: string, ctx: PlanContext): Promise<BuildPlan> {
  const venvPath = path.posix.join(ctx.appPath, VENV);
  const processTypes: Record<string, string> = {};
  if (await present(path.join(dir, 'app.py'))) processTypes.web = 'python app.py';
  return {
    depsFiles: ['requirements.txt'],
    install: [
      { heading: '-----> Creating virtualenv', argv: ['python3', '-m', 'venv', venvPath], failure: 'Creating the virtualenv failed' },
      {
        heading: '-----> Installing requirements with pip',
        argv: [path.posix.join(venvPath, 'bin', 'pip'), 'install', '--disable-pip-version-check', '--no-input', '-r', 'requirements.txt'],
        failure: 'pip install failed',
      },
    ],
    build: [],
    stepEnv: {},
    paasFiles: {},
    processTypes,
    pathPrepend: [path.join(VENV, 'bin')],
  };
}

export const pythonBuildpack: Buildpack = {
  name: 'Python',
  detect: (files) => files.has('requirements.txt'),
  webFrom: ['an `app.py` file'],
  plan: pythonPlan,
  async compile(dir, req) {
    const venv = path.join(dir, VENV);
    // A venv records its own absolute path: the one steps and dynos see (/app/.venv in a sandbox).
    const venvPath = path.join(req.steps.pathOf(dir), VENV);
    const plan = await pythonPlan(dir, { appPath: req.steps.pathOf(dir), nodePath: process.execPath, config: req.config, log: req.log });
    const step = { tree: dir, log: req.log };
    const requirements = (await readTreeFile(dir, 'requirements.txt'))!;
    const key = hashKey(requirements, process.env.PATH ?? '');
    const cache = new DepCache(path.join(req.cacheDir, req.appName), req.steps.owner);

    const from = await cache.restore('python', key, venv);
    if (from !== undefined) {
      req.log('-----> requirements.txt unchanged: using cached virtualenv, skipping install');
      if (from !== venvPath) await relocateVenv(venv, from, venvPath);
    } else {
      for (const s of plan.install) {
        req.log(s.heading);
        await req.steps.run(s.argv, { ...step, failure: s.failure });
      }
      await cache.save('python', key, venv, venvPath, req.log);
    }
    return { processTypes: plan.processTypes, pathPrepend: plan.pathPrepend };
  },
};
