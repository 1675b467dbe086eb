import fs from 'node:fs/promises';
import path from 'node:path';
import { DepCache, hashKey } from '../cache.js';
import { runStep } from '../exec.js';
import type { Buildpack } from '../types.js';

const VENV = '.venv';

/**
 * A venv records its own absolute path in bin/ scripts (shebangs, activate). A venv restored from
 * the cache still names the build it was made in, so point those files at the new location.
 */
async function relocateVenv(venv: string, from: string): Promise<void> {
  const bin = path.join(venv, 'bin');
  for (const name of await fs.readdir(bin)) {
    const file = path.join(bin, name);
    const stat = await fs.lstat(file);
    if (!stat.isFile() || stat.size > 1024 * 1024) continue;
    const text = await fs.readFile(file, 'latin1');
    if (text.includes(from)) await fs.writeFile(file, text.split(from).join(venv), 'latin1');
  }
}

export const pythonBuildpack: Buildpack = {
  name: 'Python',
  detect: (files) => files.has('requirements.txt'),
  async compile(dir, req) {
    const venv = path.join(dir, VENV);
    const step = { cwd: dir, env: req.env, log: req.log };
    const requirements = await fs.readFile(path.join(dir, 'requirements.txt'));
    const key = hashKey(requirements, process.env.PATH ?? '');
    const cache = new DepCache(path.join(req.cacheDir, req.appName));

    if (await cache.restore('python', key, venv)) {
      req.log('-----> requirements.txt unchanged: using cached virtualenv, skipping install');
      const from = (await fs.readFile(path.join(venv, '.paas-venv-path'), 'utf8')).trim();
      await relocateVenv(venv, from);
      await fs.writeFile(path.join(venv, '.paas-venv-path'), venv);
    } else {
      req.log('-----> Creating virtualenv');
      await runStep(['python3', '-m', 'venv', venv], { ...step, failure: 'Creating the virtualenv failed' });
      req.log('-----> Installing requirements with pip');
      await runStep(
        [path.join(venv, 'bin', 'pip'), 'install', '--disable-pip-version-check', '--no-input', '-r', 'requirements.txt'],
        { ...step, failure: 'pip install failed' },
      );
      await fs.writeFile(path.join(venv, '.paas-venv-path'), venv);
      await cache.save('python', key, venv);
    }

    const processTypes: Record<string, string> = {};
    if (await fs.access(path.join(dir, 'app.py')).then(() => true, () => false)) processTypes.web = 'python app.py';
    return { processTypes, pathPrepend: [path.join(VENV, 'bin')] };
  },
};
