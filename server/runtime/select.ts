import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { type Config, ConfigError, type RuntimeName } from '../config.js';
import { connectDocker, probeDocker } from '../docker/engine.js';

export interface RuntimeChoice {
  name: RuntimeName;
  docker?: Docker;
  /** The start-up line saying which runtime runs dynos, and why. */
  reason: string;
}

/**
 * PAAS_RUNTIME when set (docker then requires an engine that answers); unset, the runtime this data
 * dir's apps were deployed on (`recorded`), so an engine that starts late or a newly installed one
 * never moves them; on a new data dir, docker when an engine answers at DOCKER_HOST (or the default
 * socket), else process.
 */
export async function chooseRuntime(config: Pick<Config, 'runtime'>, recorded?: RuntimeName): Promise<RuntimeChoice> {
  if (config.runtime === 'process') return { name: 'process', reason: 'runtime: process (PAAS_RUNTIME=process)' };
  if (config.runtime === undefined && recorded === 'process') return { name: 'process', reason: 'runtime: process (this data dir\'s apps run on it; PAAS_RUNTIME=docker moves them, each app then needs a push)' };
  const docker = await connectDocker();
  const probe = await probeDocker(docker);
  const where = process.env.DOCKER_HOST || 'the default socket';
  if (probe.ok) {
    const why =
      config.runtime === 'docker' ? 'PAAS_RUNTIME=docker' : recorded === 'docker' ? "this data dir's apps run on it" : `PAAS_RUNTIME is unset and a Docker engine ${probe.version} answers at ${where}`;
    return { name: 'docker', docker, reason: `runtime: docker (${why})` };
  }
  if (config.runtime === 'docker') {
    throw new ConfigError(`PAAS_RUNTIME=docker, but no Docker engine answers at ${where} (${probe.reason}). Start dockerd (or set DOCKER_HOST), or use PAAS_RUNTIME=process.`);
  }
  if (recorded === 'docker') {
    throw new ConfigError(`This data dir's apps run on Docker, but no Docker engine answers at ${where} (${probe.reason}). Start dockerd (or set DOCKER_HOST); or set PAAS_RUNTIME=process to move them to the process runtime (each app then needs a push).`);
  }
  return { name: 'process', reason: `runtime: process (PAAS_RUNTIME is unset and no Docker engine answers at ${where}: ${probe.reason})` };
}

/** The runtime a data dir's apps were last deployed on, kept in `<data dir>/runtime`. */
export function recordedRuntime(dataDir: string): RuntimeName | undefined {
  try {
    const name = fs.readFileSync(path.join(dataDir, 'runtime'), 'utf8').trim();
    return name === 'docker' || name === 'process' ? name : undefined;
  } catch {
    return undefined;
  }
}

/** Records the runtime this server runs the data dir's apps on. */
export function recordRuntime(dataDir: string, name: RuntimeName): void {
  fs.writeFileSync(path.join(dataDir, 'runtime'), `${name}\n`, { mode: 0o600 });
}
