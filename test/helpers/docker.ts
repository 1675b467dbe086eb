// For the Docker suites: they run when an engine answers (test/docker-global-setup.ts decides once
// per run, and fails the run when PAAS_TEST_DOCKER=1 and none does), and skip otherwise.
import type Docker from 'dockerode';
import { describe, inject } from 'vitest';
import { onCleanup } from './cleanup.js';

/** Labels on every container a test makes: paas's own, so cleanup code may touch them. */
export const TEST_LABELS = { 'paas.managed': 'true', 'paas.kind': 'test' };

/** `describe`, skipped when no engine answers (and PAAS_TEST_DOCKER is not set). */
export function dockerSuite(name: string, fn: () => void): void {
  describe.skipIf(!inject('paasDockerAvailable'))(name, fn);
}

let client: Promise<Docker> | undefined;

/** The engine client for the Docker suites (DOCKER_HOST or the default socket). */
export function testDocker(): Promise<Docker> {
  client ??= import('../../server/runtime/docker/engine.js').then((m) => m.connectDocker());
  return client;
}

/** What a container printed and how it ended. */
export interface RunResult {
  /** The container's id (it is gone by the time this returns). */
  id: string;
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `docker run --rm image argv…`: a labelled container, removed when it ends (or, should the test
 * stop first, when the test does).
 */
export async function runInImage(docker: Docker, image: string, argv: string[], opts: { user?: string; env?: string[] } = {}): Promise<RunResult> {
  const container = await docker.createContainer({ Image: image, Cmd: argv, User: opts.user, Env: opts.env, Labels: TEST_LABELS, Tty: false, HostConfig: { NetworkMode: 'none' } });
  const remove = () => container.remove({ force: true }).catch(() => undefined);
  onCleanup(remove);
  try {
    await container.start();
    const { StatusCode } = await container.wait();
    const raw = await container.logs({ stdout: true, stderr: true, follow: false });
    return { id: container.id, code: StatusCode, ...demux(raw) };
  } finally {
    await remove();
  }
}

/** Splits Docker's multiplexed log stream (8-byte frame headers: stream, 0, 0, 0, size). */
function demux(raw: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  for (let at = 0; at + 8 <= raw.length; ) {
    const size = raw.readUInt32BE(at + 4);
    (raw[at] === 2 ? err : out).push(raw.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}
