import type { HealthCheck } from './app-json.js';
import type { NodeInstall } from './node-versions.js';
import type { ToolRef } from './tools.js';

/** What the builder needs from its caller. The builder knows nothing of apps, stores or HTTP. */
export interface BuildRequest {
  appName: string;
  /** Unique id; the slug lands in `<slugsDir>/<buildId>` (the tree in `app/`) and never changes after a successful build. */
  buildId: string;
  /** Told the buildpack's name once it is detected: a build that fails later is still listed with it. */
  onDetected?: (buildpack: string) => void;
  /** A tar stream of the commit's tree (as `git archive` writes it). */
  source: NodeJS.ReadableStream;
  slugsDir: string;
  /** Per-app dependency caches live under `<cacheDir>/<appName>`. */
  cacheDir: string;
  /** Node.js versions that engines.node asks for are installed under `<nodeCacheDir>/<version>`; without it, only the platform's Node. */
  nodeCacheDir?: string;
  /** Package managers (npm, yarn, pnpm) are installed under `<toolsDir>/<name>/<version>`; without it, only the platform's npm. */
  toolsDir?: string;
  /** How install and build steps run: the server runs each in the app's sandbox, under its uid. */
  steps: BuildSteps;
  /**
   * The env the server's own npm runs with for this build (engines.node's `npm view` and `npm pack`):
   * the operator's registry settings, as build steps get them.
   */
  hostNpmEnv?: Record<string, string>;
  /**
   * The app's config vars. Buildpacks honour the few that steer a build (NODE_ENV); build steps do
   * not get them all.
   */
  config?: Record<string, string>;
  /** One line of build output, Heroku style ("-----> …" headings, indented tool output). */
  log: (line: string) => void;
}

/** Runs the app's own build steps (npm ci, pip install, npm run build) and says how they see the tree. */
export interface BuildSteps {
  /** Runs one step (argv, never a shell string) with `tree` as its working directory. */
  run(
    argv: string[],
    opts: { tree: string; log: (line: string) => void; failure: string; hints?: StepHint[]; env?: Record<string, string>; node?: NodeInstall; tools?: ToolRef[] },
  ): Promise<void>;
  /** The path at which steps and dynos see `tree` (/app inside a sandbox). */
  pathOf(tree: string): string;
  /** Who the tree belongs to; files paas puts there (the unpacked source, a restored cache) are handed over. */
  owner?: { uid: number; gid: number };
}

/** The immutable result of a build, also written to `<slugsDir>/<buildId>/slug.json`. */
export interface Slug {
  /**
   * The app's tree, where its processes start: `<slugsDir>/<buildId>/app`. An image slug (Docker
   * runtime) keeps only its `slug.json` there: the tree lives in the image.
   */
  dir: string;
  /** The slug image (Docker runtime), `paas/<app>:<build id>`; absent for directory slugs. */
  image?: string;
  /**
   * Process types that run the image's own ENTRYPOINT/CMD rather than a shell command: the `web`
   * of an app built from its own Dockerfile, unless its Procfile names one. Their entry in
   * `processTypes` is only what `ps` shows.
   */
  imageCommand?: string[];
  /** The exact Node.js version the slug runs (engines.node), when it is not the stack's. */
  node?: string;
  /** The package managers it was built with, first on its processes' PATH (the platform's npm is not listed). */
  tools?: ToolRef[];
  buildpack: string;
  /** Process type → shell command, as in a Procfile. */
  processTypes: Record<string, string>;
  /** Directories inside the slug to put in front of PATH when running it. */
  pathPrepend: string[];
  /**
   * The buildpack's defaults for the environment of the app's processes (NODE_ENV=production); the
   * app's config overrides them. Absent in slugs built before paas kept them.
   */
  env?: Record<string, string>;
  /** Startup health checks per process type, from app.json (absent in older slugs). */
  healthchecks?: Record<string, HealthCheck[]>;
}

/** What a failed step's error says instead of its `failure` when its output holds `match` (an out-of-sync lockfile). */
export interface StepHint {
  match: string;
  message: string;
}

/** One step of a build plan: an argv run in the app's tree (never a shell string). */
export interface PlanStep {
  /** The build output heading before it ("-----> Installing dependencies with npm ci"). */
  heading: string;
  argv: string[];
  /** What the build error says when it fails ("npm ci failed"). */
  failure: string;
  hints?: StepHint[];
}

/** What the Node buildpack needs to know of the Node an executor runs steps on. */
export interface NodeContext {
  /** The platform's (the stack's) own Node.js version and, when known, its npm's. */
  platform: string;
  platformNpm?: string;
  /** Resolves engines.node to an exact version (the platform's when it satisfies the range); throws BuildError. */
  resolve(range: unknown): Promise<string>;
  /** Where steps and dynos find the node binary of `version` (the platform's or an installed one). */
  pathOf(version: string): string;
}

/** Where a plan is carried out: the host's sandbox (directory slugs) or an image build. */
export interface PlanContext {
  /** The path at which steps and dynos see the tree: /app in a sandbox or an image. */
  appPath: string;
  /** The node that runs the app's processes (npm_node_execpath). */
  nodePath: string;
  /** The app's config vars (a few steer a build: NODE_ENV). */
  config?: Record<string, string>;
  log: (line: string) => void;
  /** Where steps see the build's package-manager cache (kept from one step to the next, never in the slug); /tmp/paas-cache in an image. */
  cachePath?: string;
  /** The Node.js side of the executor; without it, engines.node is not honoured and the platform's npm builds. */
  node?: NodeContext;
  /** Env for the host's npm when the plan asks the registry (the operator's settings, BuildRequest.hostNpmEnv). */
  npmEnv?: Record<string, string>;
}

/**
 * What a buildpack decides for a tree, before anything runs: the host executor and the Dockerfile
 * generator both carry it out, so the two runtimes build the same way.
 */
export interface BuildPlan {
  /**
   * Root files the dependency install reads (those present). The install runs with only these in
   * the tree, so the image layer it makes is keyed by them alone.
   */
  depsFiles: string[];
  /** Steps over the whole tree before the install (heroku-prebuild): the install then sees the whole tree. */
  prepare?: PlanStep[];
  /** Dependency install steps (their output is what a cache keeps). */
  install: PlanStep[];
  /** Steps over the whole tree once dependencies are in: the build script. */
  build: PlanStep[];
  /** After the build: pruning devDependencies, heroku-cleanup. */
  finish?: PlanStep[];
  /** Whether the install needs the whole tree (workspaces, `file:` dependencies, heroku-prebuild), not only depsFiles. */
  depsNeedTree?: boolean;
  /** Whether the steps after the install read the package cache it filled (yarn 1 and pnpm prune from it). */
  buildUsesCache?: boolean;
  /** The environment of install and build steps. */
  stepEnv: Record<string, string>;
  /** Files paas adds to the tree under `.paas/` (name → source path on the host). */
  paasFiles: Record<string, string>;
  /** The exact Node.js version to install, when not the platform's (engines.node). */
  node?: string;
  /** Package managers to install, each with why (for the build output), and the corepack version that installs them. */
  tools?: (ToolRef & { why: string })[];
  corepack?: string;
  /** Default process types (a Procfile overrides them), from the tree as pushed. */
  processTypes: Record<string, string>;
  pathPrepend: string[];
  env?: Record<string, string>;
  /** A line of build output about how a default process type runs, shown unless a Procfile replaces it. */
  notes?: Record<string, string>;
}

/** One buildpack: detection is by files at the root of the source tree. */
export interface Buildpack {
  name: string;
  detect(files: Set<string>): boolean;
  /** How it makes a web process without a Procfile, each finishing "add …" (a `server.js` file): named when a push declares none. */
  webFrom?: string[];
  /** What building this tree takes (reads the tree's control files, runs nothing). */
  plan(dir: string, ctx: PlanContext): Promise<BuildPlan>;
  /**
   * Carries out the plan on the host: installs dependencies in place and returns default process
   * types (a Procfile overrides them), with a line of build output about how a default runs
   * (`notes`, by type), shown unless a Procfile replaces that type.
   */
  compile(dir: string, req: BuildRequest): Promise<Pick<Slug, 'processTypes' | 'pathPrepend' | 'env' | 'node' | 'tools'> & { notes?: Record<string, string> }>;
}
