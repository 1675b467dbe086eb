// The resource limits of dynos and builds, on both runtimes: the server's settings (read once by
// server/config.ts) and an app's overrides (config vars of the same names, checked at config:set and
// applied when a dyno starts). One parser, so the two runtimes and the API agree on every format.
import { ConfigError } from './errors.js';

/** What one dyno may use. The process runtime makes them cgroup and tmpfs limits; Docker, container limits. */
export interface DynoLimits {
  /** Memory and swap together (tmpfs pages included), bytes: PAAS_DYNO_MEMORY. */
  memoryBytes: number;
  /** Processes and threads: PAAS_DYNO_PIDS. */
  pids: number;
  /** Relative CPU weight, as cgroup v1 cpu.shares and Docker's CpuShares (1024 is one share): PAAS_DYNO_CPU_SHARES. */
  cpuShares: number;
  /** The most a dyno may write under /app, and separately under /tmp, bytes: PAAS_DYNO_DISK. */
  diskBytes: number;
}

/** What one build step (or image build) may use: PAAS_BUILD_MEMORY, PAAS_BUILD_PIDS. */
export interface BuildLimits {
  memoryBytes: number;
  pids: number;
}

/** Every limit the server reads from its environment. */
export interface ServerLimits {
  dyno: DynoLimits;
  build: BuildLimits;
  /** The largest pack a push may send, bytes: PAAS_MAX_PUSH_SIZE. */
  maxPushBytes: number;
}

/** The setting (and config var) behind each dyno limit. */
export const DYNO_LIMIT_VARS = {
  memoryBytes: 'PAAS_DYNO_MEMORY',
  pids: 'PAAS_DYNO_PIDS',
  cpuShares: 'PAAS_DYNO_CPU_SHARES',
  diskBytes: 'PAAS_DYNO_DISK',
} as const satisfies Record<keyof DynoLimits, string>;

/** Docker's own minimum memory limit. */
const MIN_MEMORY = 6 * 1024 ** 2;
/** cgroup v1 cpu.shares bounds (Docker's CpuShares is the same number). */
const MIN_SHARES = 2;
const MAX_SHARES = 262_144;

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** A size in Docker's format (`512m`, `1g`, `1073741824`), in bytes; undefined when it is not one. */
export function parseSize(raw: string): number | undefined {
  const m = /^(\d{1,15})([bkmgt]?)$/i.exec(raw.trim());
  if (!m) return undefined;
  const bytes = Number(m[1]) * UNITS[m[2].toLowerCase()];
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

interface Rule {
  parse(raw: string): number | undefined;
  /** What a good value looks like, for the message that refuses a bad one. */
  format: string;
}

function size(min: number, format: string): Rule {
  return { parse: (raw) => ((n) => (n !== undefined && n >= min ? n : undefined))(parseSize(raw)), format };
}

function count(min: number, max: number, format: string): Rule {
  return { parse: (raw) => (/^\d{1,9}$/.test(raw.trim()) && Number(raw) >= min && Number(raw) <= max ? Number(raw) : undefined), format };
}

const RULES: Record<string, Rule> = {
  PAAS_DYNO_MEMORY: size(MIN_MEMORY, "a memory size in Docker's format, for example 512m or 1g (at least 6m)"),
  PAAS_DYNO_PIDS: count(8, 4_194_304, 'a whole number of processes and threads, for example 1024 (at least 8)'),
  PAAS_DYNO_CPU_SHARES: count(MIN_SHARES, MAX_SHARES, `a relative CPU weight, a whole number from ${MIN_SHARES} to ${MAX_SHARES}, for example 1024`),
  PAAS_DYNO_DISK: size(1024 ** 2, "a size in Docker's format, for example 1g or 512m (at least 1m)"),
  PAAS_BUILD_MEMORY: size(MIN_MEMORY, "a memory size in Docker's format, for example 2g (at least 6m)"),
  PAAS_BUILD_PIDS: count(8, 4_194_304, 'a whole number of processes and threads, for example 4096 (at least 8)'),
  PAAS_MAX_PUSH_SIZE: size(1024, "a size in Docker's format, for example 1g or 200m (at least 1k)"),
};

/** The defaults: generous for an app, small enough that one app cannot take the host down. */
export const DEFAULT_LIMITS: ServerLimits = {
  dyno: { memoryBytes: 512 * 1024 ** 2, pids: 1024, cpuShares: 1024, diskBytes: 1024 ** 3 },
  build: { memoryBytes: 2 * 1024 ** 3, pids: 4096 },
  maxPushBytes: 1024 ** 3,
};

function problem(key: string, raw: string): string | undefined {
  const rule = RULES[key];
  return rule.parse(raw) === undefined ? `${key}=${JSON.stringify(raw)} is not ${rule.format}.` : undefined;
}

/**
 * Why `value` is no good for the app's dyno limit `key`, naming the format; undefined when it is
 * good or when `key` is not a dyno limit. `paas config:set` answers 422 with this message.
 */
export function dynoLimitProblem(key: string, value: string): string | undefined {
  return isDynoLimitVar(key) ? problem(key, value) : undefined;
}

function read(env: Readonly<Record<string, string | undefined>>, key: string, fallback: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const bad = problem(key, raw);
  if (bad) throw new ConfigError(bad);
  return RULES[key].parse(raw)!;
}

/** The server's limits from its environment, defaults where unset; throws ConfigError naming a bad setting and its format. */
export function parseServerLimits(env: Readonly<Record<string, string | undefined>>): ServerLimits {
  const d = DEFAULT_LIMITS;
  return {
    dyno: {
      memoryBytes: read(env, DYNO_LIMIT_VARS.memoryBytes, d.dyno.memoryBytes),
      pids: read(env, DYNO_LIMIT_VARS.pids, d.dyno.pids),
      cpuShares: read(env, DYNO_LIMIT_VARS.cpuShares, d.dyno.cpuShares),
      diskBytes: read(env, DYNO_LIMIT_VARS.diskBytes, d.dyno.diskBytes),
    },
    build: { memoryBytes: read(env, 'PAAS_BUILD_MEMORY', d.build.memoryBytes), pids: read(env, 'PAAS_BUILD_PIDS', d.build.pids) },
    maxPushBytes: read(env, 'PAAS_MAX_PUSH_SIZE', d.maxPushBytes),
  };
}

/**
 * One app's dyno limits: the server's defaults, each overridden by the app's config var of the same
 * name. A value config:set would refuse (one stored before the check existed) counts as unset.
 */
export function dynoLimitsFor(defaults: DynoLimits, configVars: Readonly<Record<string, string | undefined>>): DynoLimits {
  const out = { ...defaults };
  for (const [field, key] of Object.entries(DYNO_LIMIT_VARS) as [keyof DynoLimits, string][]) {
    const raw = configVars[key];
    const n = raw === undefined ? undefined : RULES[key].parse(raw);
    if (n !== undefined) out[field] = n;
  }
  return out;
}

/** An app's config vars that are dyno limits: the only ones config:set checks beyond the key's shape. */
export function isDynoLimitVar(key: string): boolean {
  return (Object.values(DYNO_LIMIT_VARS) as string[]).includes(key);
}

/** cgroup v2's cpu.weight (1–10000) for a cpu.shares value, as runc and systemd convert it. */
export function sharesToWeight(shares: number): number {
  return Math.floor(1 + ((Math.min(Math.max(shares, MIN_SHARES), MAX_SHARES) - MIN_SHARES) * 9999) / (MAX_SHARES - MIN_SHARES));
}
