// The package manager each Node app asks for, on the Docker runtime: the same plan as on the process
// runtime, carried out as an image build (a tools stage with corepack), against the real registry.
// Apps pinned to Node 18.x, 20.17.x and 22.x run that Node with a matching npm; yarn 1, yarn 4
// (Plug'n'Play with its release at yarnPath, and node_modules) and pnpm apps install with their own
// tool from their lockfile; an out-of-sync lockfile is refused naming the fix.
import type Docker from 'dockerode';
import semver from 'semver';
import { beforeAll, expect, it } from 'vitest';
import { instanceId } from '../../server/docker/engine.js';
import { dockerSuite, dockerTestEnv, removeInstance, testDocker } from '../helpers/docker.js';
import { commitFiles, createApp, gitRepo, type Paas, push, startPaas, viaRouter } from '../helpers/paas.js';
import { installed, PNPM, type PmAnswer, pmApp, YARN4, yarnRelease } from '../helpers/pm-apps.js';

const APPS = ['dpm-node18', 'dpm-node20', 'dpm-node22', 'dpm-yarn1', 'dpm-yarn-path', 'dpm-yarn4-nm', 'dpm-pnpm', 'dpm-stale'];

async function answer(paas: Paas, app: string): Promise<PmAnswer> {
  const res = await viaRouter(paas, `${app}.localhost`);
  expect(res.status, res.body).toBe(200);
  return JSON.parse(res.body) as PmAnswer;
}

dockerSuite('package managers on the docker runtime', () => {
  let paas: Paas;
  let docker: Docker;
  const pushed: Record<string, { dir: string; output: string }> = {};
  beforeAll(async () => {
    docker = await testDocker();
    paas = await startPaas(dockerTestEnv());
    const dataDir = paas.dataDir;
    return async () => {
      await paas.stop();
      // The server's images, its node and tools stages included (labelled with its instance).
      await removeInstance(docker, instanceId(dataDir), APPS);
    };
  });

  /** Pushes every app at once (each a build of its own on the engine). */
  async function deployAll(apps: Record<string, Record<string, string>>): Promise<void> {
    await Promise.all(
      Object.entries(apps).map(async ([name, files]) => {
        await createApp(paas, name);
        const dir = await gitRepo(paas, files);
        const r = await push(paas, dir, name);
        expect(r.code, `${name}:\n${r.stderr}`).toBe(0);
        pushed[name] = { dir, output: r.stderr };
      }),
    );
  }

  it('builds apps pinned to Node 18.x, 20.17.x and 22.x, with npm, yarn 1, yarn 4 and pnpm, each with its own tool and a matching npm', async () => {
    const started = Date.now();
    // Two waves: the engine does not share a stage two builds make at the same time, so the first
    // wave makes each Node's and npm's stages once, and the second finds them in its cache.
    await deployAll({
      'dpm-node18': await pmApp({ node: '18.x', lock: 'npm', tool: 'npm' }),
      'dpm-node20': await pmApp({ node: '20.17.x', lock: 'npm', tool: 'npm' }),
      'dpm-node22': await pmApp({ node: '22.x', lock: 'npm', tool: 'npm', scripts: { 'heroku-cleanup': 'node cleanup.js' }, files: { 'cleanup.js': "require('fs').writeFileSync('cleanup.json', JSON.stringify({ dev: require('fs').existsSync('node_modules/is-number') }));\n" } }),
      // Plug'n'Play, with the release committed at yarnPath (a directory the install's inputs copy whole).
      'dpm-yarn-path': await pmApp({ lock: 'yarn-berry', tool: 'yarn', files: await yarnRelease('4.9.2') }),
    });
    await deployAll({
      'dpm-yarn1': await pmApp({ node: '18.x', lock: 'yarn-classic', tool: 'yarn' }),
      'dpm-yarn4-nm': await pmApp({ node: '22.x', packageManager: YARN4.split('+')[0], lock: 'yarn-berry', tool: 'yarn', files: { '.yarnrc.yml': 'nodeLinker: node-modules\n' } }),
      'dpm-pnpm': await pmApp({ node: '20.17.x', packageManager: PNPM, lock: 'pnpm', tool: 'pnpm', scripts: { 'heroku-postbuild': 'node build.js' } }),
    });
    console.log(`seven apps built as images, in two waves: ${Date.now() - started} ms`);

    for (const [app, major, npmMajor] of [['dpm-node18', 18, 10], ['dpm-node20', 20, 11], ['dpm-node22', 22, 11]] as const) {
      const output = pushed[app].output;
      const npm = installed(output, 'npm');
      expect(semver.major(npm), output).toBe(npmMajor);
      expect(output).toContain('-----> Installing dependencies with npm ci');
      const got = await answer(paas, app);
      expect(semver.major(got.node.slice(1))).toBe(major);
      if (major === 20) expect(semver.minor(got.node.slice(1))).toBe(17);
      expect(output).toContain(`-----> Using Node.js ${got.node.slice(1)} (engines.node`);
      expect(got).toMatchObject({ ms: '1m', dev: false, npm });
      expect(got.built).toMatchObject({ node: got.node, npm });
    }
    expect((await answer(paas, 'dpm-node22')).cleanup).toEqual({ dev: false });

    const y1 = await answer(paas, 'dpm-yarn1');
    expect(pushed['dpm-yarn1'].output).toContain('-----> Installing dependencies with yarn install --frozen-lockfile');
    expect(y1).toMatchObject({ node: expect.stringMatching(/^v18\./), ms: '1m', dev: false, tool: installed(pushed['dpm-yarn1'].output, 'yarn') });
    expect(y1.built.agent).toMatch(/^yarn\/1\.22\.\d+ npm\/\? node\/v18\./);
    expect(pushed['dpm-yarn4-nm'].output).toContain('-----> Installing yarn 4.9.2 (packageManager: yarn@4.9.2)');
    expect(pushed['dpm-yarn-path'].output).toMatch(/-----> Installing yarn 1\.22\.\d+ \(yarn\.lock; Yarn 1 runs the release at yarnPath/);
    for (const app of ['dpm-yarn-path', 'dpm-yarn4-nm']) {
      expect(pushed[app].output).toContain('-----> Installing dependencies with yarn install --immutable');
      const got = await answer(paas, app);
      expect(got, app).toMatchObject({ ms: '1m', dev: false, tool: '4.9.2' });
      expect(got.built.agent).toMatch(/^yarn\/4\.9\.2 /);
    }
    expect((await answer(paas, 'dpm-yarn4-nm')).node).toMatch(/^v22\./);
    const pn = await answer(paas, 'dpm-pnpm');
    expect(pushed['dpm-pnpm'].output).toContain('-----> Installing pnpm 9.15.9 (packageManager: pnpm@9.15.9)');
    expect(pushed['dpm-pnpm'].output).toContain('-----> Running heroku-postbuild script (instead of the build script)');
    expect(pn).toMatchObject({ node: expect.stringMatching(/^v20\.17\./), ms: '1m', dev: false, tool: '9.15.9' });
    expect(pn.built.agent).toMatch(/^pnpm\/9\.15\.9 npm\/\? node\/v20\.17\./);

    // A code-only push reuses the tools and the install (their image layers).
    await commitFiles(paas, pushed['dpm-pnpm'].dir, { 'README.md': 'again\n' });
    const again = await push(paas, pushed['dpm-pnpm'].dir, 'dpm-pnpm');
    expect(again.code, again.stderr).toBe(0);
    const cached = (argv: string) => again.stderr.split('\n').findIndex((l) => l.includes('RUN ') && l.includes(argv));
    for (const argv of ['install-tool.mjs', '"pnpm","install"']) {
      const at = cached(argv);
      expect(at, argv).toBeGreaterThan(-1);
      expect(again.stderr.split('\n')[at + 1], argv).toContain('Using cache');
    }
    // Seven image builds, three Node versions and four package managers downloaded: more than a test's usual two minutes.
  }, 600_000);

  it('refuses an out-of-sync lockfile, naming the fix', async () => {
    const files = await pmApp({ lock: 'npm', tool: 'npm' });
    const pkg = JSON.parse(files['package.json']) as { dependencies: Record<string, string> };
    pkg.dependencies['is-odd'] = '3.0.1';
    await createApp(paas, 'dpm-stale');
    const r = await push(paas, await gitRepo(paas, { ...files, 'package.json': JSON.stringify(pkg) }), 'dpm-stale');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('package-lock.json is out of sync with package.json');
    expect(r.stderr).toContain('Run `npm install` locally, commit package-lock.json, and push again.');
  });
});
