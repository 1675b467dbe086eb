import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { eachLine } from '../../lib/lines.js';
import { allEnded } from '../runtime/exit-status.js';
import type { DynoSpec } from '../runtime/types.js';

/** Splits a container's multiplexed output (no TTY) into its two streams, ended with it. */
function demux(docker: Docker, stream: NodeJS.ReadableStream): { stdout: PassThrough; stderr: PassThrough } {
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
  return { stdout, stderr };
}

/**
 * Splits a container's multiplexed output (no TTY) into lines for `onLine`. Resolves `ended` when the
 * stream has ended, which for an attach stream means the container has stopped.
 */
export function followOutput(docker: Docker, stream: NodeJS.ReadableStream, onLine: DynoSpec['onLine']): { ended: Promise<void> } {
  const { stdout, stderr } = demux(docker, stream);
  eachLine(stdout, (l) => onLine('stdout', l));
  eachLine(stderr, (l) => onLine('stderr', l));
  return { ended: allEnded(stdout, stderr) };
}

/**
 * A one-off container's output as it comes, for `onOutput`: a terminal's is one raw stream, else it is
 * multiplexed. Resolves `ended` as followOutput does.
 */
export function rawOutput(docker: Docker, stream: NodeJS.ReadableStream, tty: boolean, onOutput: NonNullable<DynoSpec['onOutput']>): { ended: Promise<void> } {
  if (tty) {
    stream.on('data', (chunk: Buffer) => onOutput('stdout', chunk));
    return { ended: allEnded(stream) };
  }
  const { stdout, stderr } = demux(docker, stream);
  stdout.on('data', (chunk: Buffer) => onOutput('stdout', chunk));
  stderr.on('data', (chunk: Buffer) => onOutput('stderr', chunk));
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
