import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { eachLine } from '../../../builder/index.js';
import { allEnded } from '../exit-status.js';
import type { DynoSpec } from '../types.js';

/**
 * Splits a container's multiplexed output (no TTY) into lines for `onLine`. Resolves `ended` when the
 * stream has ended, which for an attach stream means the container has stopped.
 */
export function followOutput(docker: Docker, stream: NodeJS.ReadableStream, onLine: DynoSpec['onLine']): { ended: Promise<void> } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  docker.modem.demuxStream(stream, stdout, stderr);
  const finish = () => {
    stdout.end();
    stderr.end();
  };
  stream.once('end', finish);
  stream.once('close', finish);
  stream.once('error', finish);
  eachLine(stdout, (l) => onLine('stdout', l));
  eachLine(stderr, (l) => onLine('stderr', l));
  return { ended: allEnded(stdout, stderr) };
}

/** The HTTP status dockerode attaches to an engine error (404: no such container). */
export function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode;
}

/** Runs `fn`, treating "no such object" (404) and "already in that state" (304) as done. */
export async function idempotent(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const status = statusOf(err);
    if (status !== 404 && status !== 304 && status !== 409) throw err;
  }
}
