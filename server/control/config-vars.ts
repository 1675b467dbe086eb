import { dynoLimitProblem } from '../../lib/dyno-limits.js';
import { InvalidParamsError } from '../../lib/errors.js';

export const CONFIG_KEY_RULE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Set by the platform for every dyno; an app cannot override them. */
export const RESERVED_KEYS = new Set(['PORT', 'DYNO']);
export const MAX_VALUE_BYTES = 32 * 1024;

export type ConfigVars = Record<string, string>;

/** The changes of one config request: keys to set and keys to remove. */
export interface ConfigChange {
  set: ConfigVars;
  unset: string[];
}

function checkKey(key: string): void {
  if (!CONFIG_KEY_RULE.test(key)) {
    throw new InvalidParamsError(`Invalid config key ${JSON.stringify(key)}: keys are letters, digits and underscores, not starting with a digit (${CONFIG_KEY_RULE.source}).`);
  }
  if (RESERVED_KEYS.has(key)) throw new InvalidParamsError(`${key} is reserved: paas sets it for every dyno. Use another name.`);
}

/**
 * Validates a PATCH body `{ KEY: "value" | null }` (null unsets, as in Heroku's API). Throws a 422
 * naming the first bad key or value, before anything is changed.
 */
export function parseConfigChange(body: unknown): ConfigChange {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidParamsError('Send a JSON object of config vars, for example {"GREETING": "hello", "OLD_KEY": null}.');
  }
  const entries = Object.entries(body as Record<string, unknown>);
  if (entries.length === 0) throw new InvalidParamsError('No config vars given. Pass at least one KEY=value (or KEY to unset).');
  const change: ConfigChange = { set: {}, unset: [] };
  for (const [key, value] of entries) {
    checkKey(key);
    if (value === null) change.unset.push(key);
    else if (typeof value !== 'string') throw new InvalidParamsError(`The value of ${key} must be a string (or null to unset it).`);
    // An environment string ends at a NUL byte: no value can hold one.
    else if (value.includes('\0')) throw new InvalidParamsError(`The value of ${key} holds a NUL character, which no environment variable can carry. Remove it.`);
    else if (Buffer.byteLength(value) > MAX_VALUE_BYTES) throw new InvalidParamsError(`The value of ${key} is ${Buffer.byteLength(value)} bytes; the limit is ${MAX_VALUE_BYTES} (32 KiB).`);
    else if (dynoLimitProblem(key, value)) throw new InvalidParamsError(`${dynoLimitProblem(key, value)} It overrides the server's dyno limit for this app; unset it to use the server's.`);
    else change.set[key] = value;
  }
  return change;
}

export function applyChange(config: ConfigVars, change: ConfigChange): ConfigVars {
  const next = { ...config, ...change.set };
  for (const key of change.unset) delete next[key];
  return next;
}

/** Heroku's release descriptions: `Set A, B config vars`, `Remove C config vars`. */
export function describeChange(change: ConfigChange): string {
  const parts: string[] = [];
  const set = Object.keys(change.set);
  if (set.length) parts.push(`Set ${set.join(', ')} config vars`);
  if (change.unset.length) parts.push(`Remove ${change.unset.join(', ')} config vars`);
  return parts.join('; ');
}
