// Once per run (vitest globalSetup): is there a Docker engine for the Docker suites? CI sets
// PAAS_TEST_DOCKER=1, and then a missing engine fails the run instead of skipping them.
import type { TestProject } from 'vitest/node';

// The type of what it provides is declared beside its reader, test/helpers/docker.ts.
export default async function setup(project: TestProject): Promise<void> {
  const { connectDocker, probeDocker } = await import('../server/docker/engine.js');
  const probe = await probeDocker(await connectDocker(), 5000);
  const where = process.env.DOCKER_HOST || 'the default socket (/var/run/docker.sock)';
  if (!probe.ok && process.env.PAAS_TEST_DOCKER === '1') {
    throw new Error(`PAAS_TEST_DOCKER=1 requires the Docker suites, but no engine answers at ${where} (${probe.reason}). Start dockerd, or unset PAAS_TEST_DOCKER to skip them.`);
  }
  if (!probe.ok) console.log(`docker: no engine answers at ${where}; the Docker suites are skipped (CI sets PAAS_TEST_DOCKER=1 to require them)`);
  project.provide('paasDockerAvailable', probe.ok);
}
