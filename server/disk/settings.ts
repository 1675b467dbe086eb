import { ConfigError } from '../../lib/errors.js';
import { parseSize } from '../../lib/dyno-limits.js';

/** How paas keeps the data dir from filling up: what it needs free, what it keeps, how often it collects. */
export interface DiskSettings {
  /** A push is refused up front below this much free space on the data dir (PAAS_MIN_FREE_DISK, default 1g). */
  minFreeBytes: number;
  /** The newest succeeded releases per app whose slugs, images and outputs are kept for rollbacks (PAAS_KEEP_RELEASES, default 10). */
  keepReleases: number;
  /** The newest backups kept per add-on (PAAS_KEEP_BACKUPS, default 10). */
  keepBackups: number;
  /** How often `paas gc` runs on its own (PAAS_GC_INTERVAL, default 6h); 0: never. */
  gcIntervalMs: number;
}

export const DEFAULT_DISK: DiskSettings = { minFreeBytes: 1024 ** 3, keepReleases: 10, keepBackups: 10, gcIntervalMs: 6 * 3_600_000 };

const DURATION_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30s`, `15m`, `6h`, `30d` in ms; undefined when `value` is not such a duration (0 is not). */
export function parseDuration(value: string): number | undefined {
  const m = /^(\d{1,6})([smhd])$/.exec(value);
  return m && Number(m[1]) > 0 ? Number(m[1]) * DURATION_UNITS[m[2]] : undefined;
}

function raw(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function count(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!/^\d{1,6}$/.test(value) || Number(value) < 1) throw new ConfigError(`${name}=${JSON.stringify(value)} is not a whole number of at least 1. Set it to how many to keep, for example ${fallback}.`);
  return Number(value);
}

/** The disk settings from the environment; throws ConfigError naming a bad one and its format. */
export function parseDiskSettings(env: NodeJS.ProcessEnv): DiskSettings {
  const minFree = raw(env, 'PAAS_MIN_FREE_DISK');
  const minFreeBytes = minFree === undefined ? DEFAULT_DISK.minFreeBytes : parseSize(minFree);
  if (minFreeBytes === undefined) throw new ConfigError(`PAAS_MIN_FREE_DISK=${JSON.stringify(minFree)} is not a size. Use Docker's format, for example 1g or 500m (0 turns the check off).`);
  const interval = raw(env, 'PAAS_GC_INTERVAL');
  let gcIntervalMs = DEFAULT_DISK.gcIntervalMs;
  if (interval !== undefined) {
    const ms = parseDuration(interval);
    if (interval === '0') gcIntervalMs = 0;
    else if (ms !== undefined) gcIntervalMs = ms;
    else throw new ConfigError(`PAAS_GC_INTERVAL=${JSON.stringify(interval)} is not a duration. Use a number and a unit, for example 6h, 30m or 1d, or 0 to turn the timed collection off.`);
  }
  return { minFreeBytes, keepReleases: count(env, 'PAAS_KEEP_RELEASES', DEFAULT_DISK.keepReleases), keepBackups: count(env, 'PAAS_KEEP_BACKUPS', DEFAULT_DISK.keepBackups), gcIntervalMs };
}
