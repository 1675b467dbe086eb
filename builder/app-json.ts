import { BuildError } from './errors.js';
import { parseJsonFile } from './json-file.js';
import { excerpt, readTreeFile } from './safe-fs.js';

/** One health check of a process type, in Dokku's `app.json` format (times in seconds). */
export interface HealthCheck {
  type: 'startup';
  /** Path requested on the dyno's port: `/health`. */
  path: string;
  /** How many requests may fail before the check does. */
  attempts: number;
  /** Seconds each request may take. */
  timeout: number;
  /** Seconds between attempts. */
  wait: number;
  /** Text the body must contain, when given. */
  content?: string;
}

/** Defaults for what a check leaves out, as in Dokku. */
export const CHECK_DEFAULTS = { attempts: 3, timeout: 5, wait: 2 } as const;

function fail(what: string): never {
  throw new BuildError(`app.json: ${what}. Fix it and push again (format: {"healthchecks": {"web": [{"type": "startup", "path": "/health"}]}}).`);
}

function whole(value: unknown, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > max) fail(`${name} must be a whole number from 1 to ${max}`);
  return value as number;
}

function seconds(value: unknown, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max) fail(`${name} must be a number of seconds from 1 to ${max}`);
  return value;
}

/**
 * The startup health checks `app.json` declares for each process type (`healthchecks.web`), or an
 * empty object when there is no app.json or it declares none. Other check types (liveness) are not
 * run by paas and are ignored; a malformed check fails the build with what is wrong.
 */
export async function readHealthChecks(dir: string): Promise<Record<string, HealthCheck[]>> {
  const raw = await readTreeFile(dir, 'app.json');
  if (!raw) return {};
  // As Dokku reads it: comments and trailing commas are fine; an error names its line and column.
  const doc = parseJsonFile('app.json', raw.toString('utf8'), 'jsonc');
  const all = (doc as { healthchecks?: unknown } | null)?.healthchecks;
  if (all === undefined) return {};
  if (typeof all !== 'object' || all === null || Array.isArray(all)) fail('healthchecks must be an object of process type → list of checks');
  const out = Object.create(null) as Record<string, HealthCheck[]>;
  for (const [type, list] of Object.entries(all as Record<string, unknown>)) {
    if (!Array.isArray(list)) fail(`healthchecks.${excerpt(type, 30)} must be a list of checks`);
    out[type] = list
      // A check with no type is a startup check; liveness and other kinds are not run by paas.
      .filter((c) => typeof c === 'object' && c !== null && ((c as { type?: unknown }).type ?? 'startup') === 'startup')
      .map((c: Record<string, unknown>) => {
        const p = c.path ?? '/';
        if (typeof p !== 'string' || !p.startsWith('/') || p.length > 1024 || /[\s\0]/.test(p)) fail('a check path must start with / and hold no spaces');
        if (c.content !== undefined && typeof c.content !== 'string') fail('a check content must be text');
        return {
          type: 'startup',
          path: p,
          attempts: whole(c.attempts, 'attempts', CHECK_DEFAULTS.attempts, 100),
          timeout: seconds(c.timeout, 'timeout', CHECK_DEFAULTS.timeout, 300),
          wait: seconds(c.wait, 'wait', CHECK_DEFAULTS.wait, 300),
          ...(c.content === undefined ? {} : { content: c.content }),
        };
      });
  }
  return out;
}
