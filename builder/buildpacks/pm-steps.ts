// The build steps of a Node app for its package manager, as Heroku's Node buildpack runs them:
// `heroku-prebuild`, the install from the lockfile (devDependencies included), `heroku-postbuild`
// or `build`, pruning devDependencies, then `heroku-cleanup`.
import path from 'node:path';
import semver from 'semver';
import type { PlanStep, StepHint } from '../types.js';
import type { PackageManager } from './package-manager.js';

const NPM_FLAGS = ['--no-audit', '--no-fund', '--no-progress'];
const YARN1_FLAGS = ['--ignore-engines', '--non-interactive', '--no-progress'];
/** The first pnpm whose `prune` takes --ignore-scripts; earlier ones run these root scripts while pruning. */
const PNPM_PRUNE_IGNORES_SCRIPTS = '8.15.6';
const PNPM_PRUNE_HOOKS = ['pnpm:devPreinstall', 'preinstall', 'install', 'postinstall', 'prepare'];

export interface PmStepsInput {
  pm: PackageManager;
  scripts: Record<string, unknown>;
  /** Whether devDependencies are pruned after the build (NODE_ENV=production, not turned off, some to prune). */
  prune: boolean;
  /** Where steps see the build's package-manager cache (npm cache, yarn cache, pnpm store). */
  cachePath: string;
  /** Yarn 2+: the tree holds its cache (zero-install) / a workspace-tools plugin. */
  zeroInstall: boolean;
  workspaceTools: boolean;
}

export interface PmSteps {
  /** Before the install, over the whole tree: heroku-prebuild. */
  prepare: PlanStep[];
  install: PlanStep[];
  build: PlanStep[];
  /** Pruning and heroku-cleanup. */
  finish: PlanStep[];
  stepEnv: Record<string, string>;
  /** What the install makes in the tree, which the dependency cache keeps. */
  installed: string[];
  /** Whether later steps (pruning) read the package cache the install filled. */
  buildUsesCache: boolean;
  /** A line of build output about a step paas leaves out. */
  note?: string;
}

/**
 * A build script that stops on a hash OpenSSL 3 dropped (md4: webpack 4's default, so
 * create-react-app 4 and older): Node.js 17 and later have only OpenSSL 3. Heroku names it too.
 */
const OPENSSL_LEGACY: StepHint = {
  match: 'ERR_OSSL_EVP_UNSUPPORTED',
  message:
    'The build script failed with ERR_OSSL_EVP_UNSUPPORTED: it uses a hash that Node.js 17 and later (OpenSSL 3) no longer offer, as webpack 4 does ' +
    '(create-react-app 4 and older). Upgrade the tool that uses it (webpack 5.54+, react-scripts 5), or set engines.node to "16.x" in package.json, and push again.',
};

/** The step that runs a package.json script with the app's package manager. */
function script(pm: PackageManager, name: string, heading: string, hints?: StepHint[]): PlanStep {
  return { heading, argv: [pm.name, 'run', name], failure: `${pm.name} run ${name} failed`, hints };
}

/** The error for an install that stopped because the lockfile no longer matches package.json. */
function outOfSync(lockfile: string, match: string, fix: string): NonNullable<PlanStep['hints']>[number] {
  return { match, message: `${lockfile} is out of sync with package.json: it does not list what package.json asks for, and paas installs only from the lockfile. Run \`${fix}\` locally, commit ${lockfile}, and push again.` };
}

function installStep(pm: PackageManager, input: PmStepsInput): PlanStep {
  const lock = pm.lockfile;
  const version = pm.tool?.version;
  if (pm.name === 'npm') {
    // npm 6 (engines.npm) knows no --include; under NODE_ENV=production it needs --production=false.
    const dev = version && semver.major(version) < 7 ? '--production=false' : '--include=dev';
    const argv = lock ? ['npm', 'ci', dev, ...NPM_FLAGS] : ['npm', 'install', dev, ...NPM_FLAGS];
    return lock
      ? { heading: '-----> Installing dependencies with npm ci', argv, failure: 'npm ci failed', hints: [outOfSync(lock, 'can only install packages when your package.json and', 'npm install')] }
      : { heading: '-----> Installing dependencies with npm install (no lockfile; commit package-lock.json for cached, repeatable installs)', argv, failure: 'npm install failed' };
  }
  if (pm.name === 'pnpm') {
    const argv = ['pnpm', 'install', ...(lock ? ['--frozen-lockfile'] : []), '--no-prod'];
    const heading = `-----> Installing dependencies with pnpm install${lock ? ' --frozen-lockfile' : ' (no lockfile; commit pnpm-lock.yaml for cached, repeatable installs)'}`;
    return { heading, argv, failure: 'pnpm install failed', hints: lock ? [outOfSync(lock, 'ERR_PNPM_OUTDATED_LOCKFILE', 'pnpm install')] : undefined };
  }
  if (pm.berry) {
    const immutable = lock ? ['--immutable', ...(input.zeroInstall && pm.pnp ? ['--immutable-cache'] : [])] : [];
    const heading = `-----> Installing dependencies with yarn install${immutable.length ? ` ${immutable.join(' ')}` : ' (no lockfile; commit yarn.lock for cached, repeatable installs)'}`;
    return { heading, argv: ['yarn', 'install', ...immutable], failure: 'yarn install failed', hints: lock ? [outOfSync(lock, 'YN0028', 'yarn install')] : undefined };
  }
  const frozen = lock ? ['--frozen-lockfile'] : [];
  const heading = `-----> Installing dependencies with yarn install${lock ? ' --frozen-lockfile' : ' (no lockfile; commit yarn.lock for cached, repeatable installs)'}`;
  return { heading, argv: ['yarn', 'install', ...frozen, '--production=false', ...YARN1_FLAGS], failure: 'yarn install failed', hints: lock ? [outOfSync(lock, 'Your lockfile needs to be updated', 'yarn install')] : undefined };
}

/** The prune step, or a note on why there is none (Yarn 2 and 3 without the workspace-tools plugin). */
function pruneStep(pm: PackageManager, input: PmStepsInput): PlanStep | string {
  const step = (argv: string[], shown: string): PlanStep => ({ heading: `-----> Pruning devDependencies with ${shown}`, argv, failure: 'Pruning devDependencies failed' });
  const version = pm.tool?.version;
  if (pm.name === 'npm') return version && semver.major(version) < 7 ? step(['npm', 'prune', '--production'], 'npm prune --production') : step(['npm', 'prune', '--omit=dev', ...NPM_FLAGS], 'npm prune --omit=dev');
  if (pm.name === 'pnpm') {
    if (!version || semver.gte(version, PNPM_PRUNE_IGNORES_SCRIPTS)) return step(['pnpm', 'prune', '--prod', '--ignore-scripts'], 'pnpm prune --prod');
    // Older pnpm runs the root's install scripts while pruning, once their devDependencies are
    // gone (`nuxt prepare` with nuxt pruned): Heroku skips pruning then, and so does paas.
    const hooks = PNPM_PRUNE_HOOKS.filter((s) => typeof input.scripts[s] === 'string');
    if (hooks.length) {
      return `-----> Not pruning devDependencies: pnpm ${version} runs package.json's ${hooks.join(' and ')} script while pruning, without the devDependencies it may need; pnpm ${PNPM_PRUNE_IGNORES_SCRIPTS} and later prune without running it (set "packageManager": "pnpm@${PNPM_PRUNE_IGNORES_SCRIPTS}" or later)`;
    }
    return step(['pnpm', 'prune', '--prod'], 'pnpm prune --prod');
  }
  if (pm.berry) {
    // Yarn 4 has `workspaces focus` built in; 2 and 3 only with their workspace-tools plugin.
    if ((pm.berryMajor === undefined || pm.berryMajor < 4) && !input.workspaceTools) {
      return `-----> Not pruning devDependencies: Yarn ${pm.berryMajor ?? '2 or 3'} prunes only with its workspace-tools plugin (\`yarn plugin import workspace-tools\`); Yarn 4 prunes without`;
    }
    return step(['yarn', 'workspaces', 'focus', '--all', '--production'], 'yarn workspaces focus --all --production');
  }
  // Yarn 1 prunes by installing again for production, from the downloads the install left in the cache.
  return step(['yarn', 'install', ...(pm.lockfile ? ['--frozen-lockfile'] : []), '--production=true', '--ignore-scripts', '--prefer-offline', ...YARN1_FLAGS], 'yarn install --production=true');
}

/** What each package manager is told: its caches go to `cachePath` (never into the slug), and no telemetry or update checks. */
function stepEnv(pm: PackageManager, cachePath: string): Record<string, string> {
  const env: Record<string, string> = { npm_config_cache: path.posix.join(cachePath, 'npm'), npm_config_update_notifier: 'false' };
  if (pm.name === 'pnpm') {
    // pnpm before 11 reads npm_config_*, pnpm 11 pnpm_config_*. Pruning must see the store path the install used.
    const store = path.posix.join(cachePath, 'pnpm-store');
    Object.assign(env, { npm_config_store_dir: store, pnpm_config_store_dir: store });
  } else if (pm.berry) {
    Object.assign(env, { YARN_ENABLE_TELEMETRY: '0', YARN_GLOBAL_FOLDER: path.posix.join(cachePath, 'yarn-berry'), YARN_ENABLE_PROGRESS_BARS: 'false' });
    // Plug'n'Play loads packages from the cache at run time: it must be the project's, in the slug.
    if (pm.pnp) env.YARN_ENABLE_GLOBAL_CACHE = 'false';
  } else if (pm.name === 'yarn') {
    Object.assign(env, { YARN_CACHE_FOLDER: path.posix.join(cachePath, 'yarn'), YARN_DISABLE_SELF_UPDATE_CHECK: 'true' });
  }
  return env;
}

/** The steps and environment of a Node app's build with its package manager. */
export function pmSteps(input: PmStepsInput): PmSteps {
  const { pm, scripts } = input;
  const has = (name: string) => typeof scripts[name] === 'string' && (scripts[name]).trim() !== '';
  const prepare = has('heroku-prebuild') ? [script(pm, 'heroku-prebuild', '-----> Running heroku-prebuild script')] : [];
  const build = has('heroku-postbuild')
    ? [script(pm, 'heroku-postbuild', `-----> Running heroku-postbuild script${has('build') ? ' (instead of the build script)' : ''}`, [OPENSSL_LEGACY])]
    : has('build')
      ? [script(pm, 'build', '-----> Running build script', [OPENSSL_LEGACY])]
      : [];
  const finish: PlanStep[] = [];
  let note: string | undefined;
  if (input.prune) {
    const prune = pruneStep(pm, input);
    if (typeof prune === 'string') note = prune;
    else finish.push(prune);
  }
  if (has('heroku-cleanup')) finish.push(script(pm, 'heroku-cleanup', '-----> Running heroku-cleanup script'));
  const installed = pm.pnp ? ['.pnp.cjs', '.pnp.loader.mjs', '.pnp.data.json', '.yarn/cache', '.yarn/unplugged', '.yarn/install-state.gz'] : pm.berry ? ['node_modules', '.yarn/install-state.gz'] : ['node_modules'];
  return {
    prepare,
    install: [installStep(pm, input)],
    build,
    finish,
    stepEnv: stepEnv(pm, input.cachePath),
    installed,
    // Yarn 1 prunes from the downloads the install made, pnpm from the store it filled.
    buildUsesCache: (pm.name === 'yarn' && !pm.pnp) || pm.name === 'pnpm',
    note,
  };
}
