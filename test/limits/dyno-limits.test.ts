// The one parser of dyno and build limits: the server's settings, an app's overrides, config:set's check.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, dynoLimitProblem, dynoLimitsFor, parseServerLimits, parseSize, sharesToWeight } from '../../lib/dyno-limits.js';
import { parseConfigChange } from '../../server/control/config-vars.js';
import { loadConfig } from '../../server/config.js';

describe('dyno limits', () => {
  it('defaults to the pinned settings', () => {
    expect(parseServerLimits({})).toEqual({
      dyno: { memoryBytes: 512 * 1024 ** 2, pids: 1024, cpuShares: 1024, diskBytes: 1024 ** 3 },
      build: { memoryBytes: 2 * 1024 ** 3, pids: 4096 },
      maxPushBytes: 1024 ** 3,
    });
    expect(loadConfig({}).limits).toEqual(DEFAULT_LIMITS);
  });

  it('reads every setting in Docker size format or as a count', () => {
    const l = parseServerLimits({ PAAS_DYNO_MEMORY: '64m', PAAS_DYNO_PIDS: '64', PAAS_DYNO_CPU_SHARES: '512', PAAS_DYNO_DISK: '32M', PAAS_BUILD_MEMORY: '1g', PAAS_BUILD_PIDS: '100', PAAS_MAX_PUSH_SIZE: '200k' });
    expect(l).toEqual({ dyno: { memoryBytes: 64 * 1024 ** 2, pids: 64, cpuShares: 512, diskBytes: 32 * 1024 ** 2 }, build: { memoryBytes: 1024 ** 3, pids: 100 }, maxPushBytes: 200 * 1024 });
    expect(parseSize('1073741824')).toBe(1024 ** 3);
    expect(parseSize('1.5g')).toBeUndefined();
  });

  it.each([['PAAS_DYNO_MEMORY', '5m'], ['PAAS_DYNO_MEMORY', 'lots'], ['PAAS_DYNO_PIDS', '0'], ['PAAS_DYNO_PIDS', '1e3'], ['PAAS_DYNO_CPU_SHARES', '1'], ['PAAS_DYNO_CPU_SHARES', '300000'], ['PAAS_DYNO_DISK', '-1g'], ['PAAS_BUILD_MEMORY', '2gb'], ['PAAS_BUILD_PIDS', 'many'], ['PAAS_MAX_PUSH_SIZE', '1']])('refuses %s=%s at start, naming the format', (key, value) => {
    expect(() => loadConfig({ [key]: value })).toThrow(new RegExp(`^${key}=.*is not .*for example`));
  });

  it("overrides the server's defaults with an app's config vars, ignoring values that are not limits", () => {
    const d = DEFAULT_LIMITS.dyno;
    expect(dynoLimitsFor(d, { PAAS_DYNO_MEMORY: '1g', PAAS_DYNO_PIDS: '50', OTHER: 'x' })).toEqual({ ...d, memoryBytes: 1024 ** 3, pids: 50 });
    expect(dynoLimitsFor(d, { PAAS_DYNO_CPU_SHARES: 'lots', PAAS_DYNO_DISK: '2g' })).toEqual({ ...d, diskBytes: 2 * 1024 ** 3 });
  });

  it('checks only the dyno limits among config vars, and config:set answers 422 naming the format', () => {
    expect(dynoLimitProblem('PAAS_BUILD_MEMORY', 'x')).toBeUndefined();
    expect(dynoLimitProblem('PAAS_DYNO_PIDS', '64')).toBeUndefined();
    expect(() => parseConfigChange({ PAAS_DYNO_MEMORY: 'half' })).toThrow(/PAAS_DYNO_MEMORY="half" is not a memory size in Docker's format, for example 512m/);
    expect(() => parseConfigChange({ PAAS_DYNO_MEMORY: 'half' })).toThrow(expect.objectContaining({ status: 422 }));
    expect(parseConfigChange({ PAAS_DYNO_DISK: '2g', PAAS_DYNO_PIDS: null }).set).toEqual({ PAAS_DYNO_DISK: '2g' });
  });

  it('converts cpu.shares to cgroup v2 cpu.weight as runc does', () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(262_144)).toBe(10_000);
  });
});
