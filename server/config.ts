import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RegistrySettings } from '../builder/registry.js';
import { trustedProxiesProblem } from '../router/trusted.js';
import { loadRegistrySettings, RegistryConfigError } from './slug-builder/registry.js';
import { ConfigError } from '../lib/errors.js';
import { DEFAULT_APP_NETWORK_CIDR, parseRange } from './netns/cidr.js';
import type { AppNetworkConfig } from './netns/setup.js';
import { parseServerLimits, type ServerLimits } from '../lib/dyno-limits.js';
import { type DiskSettings, parseDiskSettings } from './disk/settings.js';
import { parseTlsSettings, type TlsSettings } from './tls/settings.js';

export type RuntimeName = 'process' | 'docker';

/** The Docker runtime's settings (used only when the runtime is docker). */
export interface DockerConfig {
  /** The base image of builds and dynos (PAAS_STACK_IMAGE). */
  stackImage: string;
  /** Each dyno container's memory limit, in Docker's format (PAAS_DYNO_MEMORY, `512m`). */
  dynoMemory: string;
  /** Bytes, parsed from dynoMemory. */
  dynoMemoryBytes: number;
  /** Where dyno ports are published on the host (PAAS_DOCKER_BIND_ADDRESS): loopback by default. */
  bindAddress: string;
  /** The labelled user-defined network dynos and add-ons share. */
  network: string;
  /**
   * A CA bundle builds must trust (a TLS-intercepting proxy): PAAS_BUILD_CA_FILE, else what
   * NODE_EXTRA_CA_CERTS or SSL_CERT_FILE name. Never left in an image.
   */
  buildCaFile: string | undefined;
}

/** Everything the server reads from its environment, read once at start-up. */
export interface Config {
  /** API and git port; 0 picks a free one (tests). */
  port: number;
  /** Embedded router port; 0 picks a free one (tests). */
  routerPort: number;
  /** Embedded router's HTTPS port (PAAS_ROUTER_TLS_PORT); 0 picks a free one (tests). */
  routerTlsPort: number;
  /** Interface both listeners bind to: loopback unless PAAS_BIND_HOST opens it up. */
  host: string;
  dataDir: string;
  /** ./.paas-data, where paas kept its data before the XDG default; unset when PAAS_DATA_DIR is. */
  legacyDataDir: string | undefined;
  /** Undefined means: load or generate one in the data dir. */
  apiToken: string | undefined;
  domain: string;
  /** PAAS_RUNTIME; undefined means: docker if an engine answers at start, else process. */
  runtime: RuntimeName | undefined;
  docker: DockerConfig;
  /**
   * The operator's package settings every build gets, on both runtimes (PAAS_BUILD_NPMRC, else the
   * host npm's own npmrc files, plus PAAS_BUILD_CA_FILE); no dyno sees them.
   */
  buildRegistry: RegistrySettings;
  /** How long a new dyno may take to bind its port before the deploy fails. */
  bootTimeoutMs: number;
  /** SIGTERM → SIGKILL grace period when stopping a dyno. */
  stopGraceMs: number;
  /** How long new web dynos must stay up after the route switch before the old ones are stopped. */
  settleMs: number;
  /** Log lines kept per app, on disk, across restarts (PAAS_LOG_HISTORY). */
  logHistory: number;
  /** The built dashboard the API port serves (PAAS_DASHBOARD_DIR; default dist/dashboard beside the compiled server). */
  dashboardDir: string;
  /** The most dynos `ps:scale` gives one process type. */
  maxDynosPerType: number;
  /** How long a Procfile `release` command may run before the release fails. */
  releaseTimeoutMs: number;
  /** On SIGTERM, how long a build or release phase in flight may take to finish before it is stopped. */
  shutdownTimeoutMs: number;
  /** How long the router waits on a silent dyno before it answers 504 or cuts the response off. */
  routerTimeoutMs: number;
  /** How many worker processes the embedded router runs (PAAS_ROUTER_WORKERS, default: one per CPU). */
  routerWorkers: number;
  /** PAAS_TRUSTED_PROXIES as given (checked here): the peers whose X-Forwarded-For the router keeps. */
  trustedProxies: string;
  /** The host environment paas's own tools (git) run with: PATH, HOME, LANG, never our own secrets. */
  baseEnv: Record<string, string>;
  /** What every app process gets from the host besides its config: LANG, TZ and npm's update notice off, nothing of paas. */
  appEnv: Record<string, string>;
  /** The uids (each also a gid) given to apps, one per app, when paas runs as root. */
  appUids: { first: number; last: number };
  /** A network namespace per app and add-on server on the process runtime as root (PAAS_APP_NETWORKS, PAAS_APP_NETWORK_CIDR). */
  appNetworks: AppNetworkConfig;
  /** Dyno and build limits (PAAS_DYNO_*, PAAS_BUILD_MEMORY/PIDS) and the push size cap (PAAS_MAX_PUSH_SIZE), on both runtimes. */
  limits: ServerLimits;
  /** Free space a push needs, what `paas gc` keeps, and how often it runs (PAAS_MIN_FREE_DISK, PAAS_KEEP_*, PAAS_GC_INTERVAL). */
  disk: DiskSettings;
  /** HTTPS: ACME (PAAS_ACME_*) and the operator's default certificate (PAAS_TLS_CERT_FILE, PAAS_TLS_KEY_FILE). */
  tls: TlsSettings;
}

export { ConfigError };

function parsePort(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is not a port number. Set it to an integer from 0 to 65535.`);
  }
  return n;
}

function parseMs(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is not a positive number of milliseconds.`);
  }
  return n;
}

function parseCount(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${name}=${JSON.stringify(raw)} is not a whole number of at least 1.`);
  return n;
}

function parseRouterWorkers(env: NodeJS.ProcessEnv): number {
  const n = parseCount(env, 'PAAS_ROUTER_WORKERS', os.availableParallelism());
  if (n > 1024) throw new ConfigError(`PAAS_ROUTER_WORKERS=${n} is more worker processes than paas runs (1024 at most). Set it to the number of CPUs or fewer.`);
  return n;
}

function pickBaseEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  // Builds and dynos find node and npm next to the node running paas, even when PATH lacks them.
  const nodeBin = path.dirname(process.execPath);
  const base: Record<string, string> = { PATH: [nodeBin, env.PATH || '/usr/local/bin:/usr/bin:/bin'].join(':') };
  for (const name of ['HOME', 'LANG', 'TZ', 'TMPDIR']) {
    const value = env[name];
    if (value) base[name] = value;
  }
  return base;
}

function pickAppEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  // npm's "new version" notice is noise in a push or a crash report, and a lookup on the network at
  // every `npm start`; an app's own config may still turn it on.
  const app: Record<string, string> = { LANG: env.LANG || 'C.UTF-8', npm_config_update_notifier: 'false' };
  if (env.TZ) app.TZ = env.TZ;
  return app;
}

/** Default app uids: above the 16-bit range, so they match no login account or subordinate-uid block of a typical host. */
const DEFAULT_APP_UIDS = { first: 300_000, last: 399_999 };

function parseUidRange(env: NodeJS.ProcessEnv): { first: number; last: number } {
  const raw = env.PAAS_APP_UIDS;
  if (raw === undefined || raw === '') return DEFAULT_APP_UIDS;
  const m = /^(\d+)-(\d+)$/.exec(raw);
  const first = Number(m?.[1]);
  const last = Number(m?.[2]);
  if (!m || first < 1000 || last < first || last > 2 ** 31 - 2) {
    throw new ConfigError(`PAAS_APP_UIDS=${JSON.stringify(raw)} is not a uid range. Set it to FIRST-LAST, for example 300000-399999 (FIRST at least 1000).`);
  }
  return { first, last };
}

/**
 * The data dir belongs to the user, not to the directory the server was started from (XDG base
 * directories): PAAS_DATA_DIR, else $XDG_DATA_HOME/paas, else ~/.local/share/paas. The CLI mirrors
 * this rule (cli/local-server.ts) to find the token of a server on this machine.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  if (env.PAAS_DATA_DIR) return path.resolve(env.PAAS_DATA_DIR);
  // The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
  if (env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME)) return path.join(env.XDG_DATA_HOME, 'paas');
  const home = env.HOME || os.homedir();
  if (!home || !path.isAbsolute(home)) {
    throw new ConfigError('Cannot find a home directory for the data dir: set PAAS_DATA_DIR (or HOME) to an absolute path.');
  }
  return path.join(home, '.local', 'share', 'paas');
}

/** Reads the server configuration from `env`; throws ConfigError with a fix-it message on bad values. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const runtime = env.PAAS_RUNTIME || undefined;
  if (runtime !== undefined && runtime !== 'process' && runtime !== 'docker') {
    throw new ConfigError(`PAAS_RUNTIME=${JSON.stringify(runtime)} is not a runtime. Use "process" or "docker", or leave it unset to use Docker when an engine answers.`);
  }
  const domain = (env.PAAS_DOMAIN || 'localhost').toLowerCase();
  if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(domain)) {
    throw new ConfigError(`PAAS_DOMAIN=${JSON.stringify(domain)} is not a valid domain name (for example "localhost" or "apps.example.com").`);
  }
  const limits = parseServerLimits(env);
  const docker = parseDocker(env, limits);
  return {
    port: parsePort(env, 'PORT', 5100),
    routerPort: parsePort(env, 'PAAS_ROUTER_PORT', 8080),
    routerTlsPort: parsePort(env, 'PAAS_ROUTER_TLS_PORT', 8443),
    host: env.PAAS_BIND_HOST || '127.0.0.1',
    dataDir: defaultDataDir(env),
    legacyDataDir: env.PAAS_DATA_DIR ? undefined : path.resolve('.paas-data'),
    apiToken: env.PAAS_API_TOKEN || undefined,
    domain,
    runtime,
    bootTimeoutMs: parseMs(env, 'PAAS_BOOT_TIMEOUT_MS', 60_000),
    stopGraceMs: parseMs(env, 'PAAS_STOP_GRACE_MS', 30_000),
    settleMs: parseMs(env, 'PAAS_SETTLE_MS', 3000),
    maxDynosPerType: parseCount(env, 'PAAS_MAX_DYNOS_PER_TYPE', 20),
    logHistory: parseCount(env, 'PAAS_LOG_HISTORY', 1500),
    dashboardDir: env.PAAS_DASHBOARD_DIR ? path.resolve(env.PAAS_DASHBOARD_DIR) : fileURLToPath(new URL('../dashboard/', import.meta.url)),
    releaseTimeoutMs: parseMs(env, 'PAAS_RELEASE_TIMEOUT_MS', 10 * 60_000),
    shutdownTimeoutMs: parseMs(env, 'PAAS_SHUTDOWN_TIMEOUT_MS', 30_000),
    routerTimeoutMs: parseMs(env, 'PAAS_ROUTER_TIMEOUT_MS', 30_000),
    routerWorkers: parseRouterWorkers(env),
    trustedProxies: parseTrusted(env),
    baseEnv: pickBaseEnv(env),
    appEnv: pickAppEnv(env),
    appUids: parseUidRange(env),
    appNetworks: parseAppNetworks(env),
    docker,
    limits,
    disk: parseDiskSettings(env),
    tls: parseTlsSettings(env),
    buildRegistry: parseBuildRegistry(env, docker.buildCaFile),
  };
}

function parseBuildRegistry(env: NodeJS.ProcessEnv, caFile: string | undefined): RegistrySettings {
  const namedBy = env.PAAS_BUILD_CA_FILE ? 'PAAS_BUILD_CA_FILE' : env.NODE_EXTRA_CA_CERTS ? 'NODE_EXTRA_CA_CERTS' : 'SSL_CERT_FILE';
  try {
    return loadRegistrySettings(env, caFile ? { file: caFile, namedBy, required: Boolean(env.PAAS_BUILD_CA_FILE) } : undefined);
  } catch (err) {
    if (err instanceof RegistryConfigError) throw new ConfigError(err.message);
    throw err;
  }
}

function parseAppNetworks(env: NodeJS.ProcessEnv): AppNetworkConfig {
  const mode = env.PAAS_APP_NETWORKS || 'auto';
  if (mode !== 'auto' && mode !== 'off') throw new ConfigError(`PAAS_APP_NETWORKS=${JSON.stringify(mode)} is not a setting. Use "auto" (a network per app when paas runs as root) or "off".`);
  const range = parseRange(env.PAAS_APP_NETWORK_CIDR || DEFAULT_APP_NETWORK_CIDR);
  if (typeof range === 'string') throw new ConfigError(`PAAS_APP_NETWORK_CIDR=${JSON.stringify(env.PAAS_APP_NETWORK_CIDR)} ${range}.`);
  return { mode, range };
}

function parseTrusted(env: NodeJS.ProcessEnv): string {
  const raw = env.PAAS_TRUSTED_PROXIES ?? '';
  const problem = trustedProxiesProblem(raw);
  if (problem) throw new ConfigError(problem);
  return raw;
}

function parseDocker(env: NodeJS.ProcessEnv, limits: ServerLimits): DockerConfig {
  const dynoMemory = env.PAAS_DYNO_MEMORY || '512m';
  const dynoMemoryBytes = limits.dyno.memoryBytes;
  const stackImage = env.PAAS_STACK_IMAGE || 'paas/stack:bookworm';
  if (!/^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$/.test(stackImage)) {
    throw new ConfigError(`PAAS_STACK_IMAGE=${JSON.stringify(stackImage)} is not an image name. Use name:tag, for example paas/stack:bookworm.`);
  }
  const bindAddress = env.PAAS_DOCKER_BIND_ADDRESS || '127.0.0.1';
  if (!/^[0-9a-f.:]+$/i.test(bindAddress)) {
    throw new ConfigError(`PAAS_DOCKER_BIND_ADDRESS=${JSON.stringify(bindAddress)} is not an IP address. Use one of this host's addresses, for example 127.0.0.1.`);
  }
  const buildCaFile = env.PAAS_BUILD_CA_FILE || env.NODE_EXTRA_CA_CERTS || env.SSL_CERT_FILE || undefined;
  return { stackImage, dynoMemory, dynoMemoryBytes, bindAddress, network: env.PAAS_DOCKER_NETWORK || 'paas', buildCaFile: buildCaFile ? path.resolve(buildCaFile) : undefined };
}
