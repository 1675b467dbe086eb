import type Docker from 'dockerode';
import { type Config, ConfigError, type RuntimeName } from '../config.js';
import { connectDocker, probeDocker } from './docker/engine.js';

export interface RuntimeChoice {
  name: RuntimeName;
  docker?: Docker;
  /** The start-up line saying which runtime runs dynos, and why. */
  reason: string;
}

/**
 * PAAS_RUNTIME when set (docker then requires an engine that answers); unset, docker when an engine
 * answers at DOCKER_HOST (or the default socket), else process.
 */
export async function chooseRuntime(config: Pick<Config, 'runtime'>): Promise<RuntimeChoice> {
  if (config.runtime === 'process') return { name: 'process', reason: 'runtime: process (PAAS_RUNTIME=process)' };
  const docker = await connectDocker();
  const probe = await probeDocker(docker);
  const where = process.env.DOCKER_HOST || 'the default socket';
  if (probe.ok) {
    const why = config.runtime === 'docker' ? 'PAAS_RUNTIME=docker' : `PAAS_RUNTIME is unset and a Docker engine ${probe.version} answers at ${where}`;
    return { name: 'docker', docker, reason: `runtime: docker (${why})` };
  }
  if (config.runtime === 'docker') {
    throw new ConfigError(`PAAS_RUNTIME=docker, but no Docker engine answers at ${where} (${probe.reason}). Start dockerd (or set DOCKER_HOST), or use PAAS_RUNTIME=process.`);
  }
  return { name: 'process', reason: `runtime: process (PAAS_RUNTIME is unset and no Docker engine answers at ${where}: ${probe.reason})` };
}
