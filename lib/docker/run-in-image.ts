import type Docker from 'dockerode';

/** What a one-off command printed in a container and how it ended. */
export interface RunResult {
  /** The container's id (it is gone by the time this returns). */
  id: string;
  code: number;
  stdout: string;
  stderr: string;
}

/** Splits Docker's multiplexed log stream (no TTY): frames of an 8-byte header (stream, 0, 0, 0, size) and their bytes. */
export function demux(raw: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  for (let at = 0; at + 8 <= raw.length; ) {
    const size = raw.readUInt32BE(at + 4);
    (raw[at] === 2 ? err : out).push(raw.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/**
 * `docker run --rm image argv…` for a look inside an image (its Node version, who its USER is): the
 * image's own ENTRYPOINT is replaced by argv, with no network, no capability and no new privileges,
 * labelled as the caller says, and removed when it ends. `created` sees the container first, so a
 * caller that may stop early (a test) can remove it then.
 */
export async function runInImage(
  docker: Docker,
  image: string,
  argv: string[],
  opts: { labels: Record<string, string>; user?: string; env?: string[]; created?: (container: Docker.Container) => void },
): Promise<RunResult> {
  const container = await docker.createContainer({
    Image: image,
    Entrypoint: argv.slice(0, 1),
    Cmd: argv.slice(1),
    User: opts.user,
    Env: opts.env,
    Labels: opts.labels,
    Tty: false,
    HostConfig: { NetworkMode: 'none', CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'] },
  });
  opts.created?.(container);
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const raw = await container.logs({ stdout: true, stderr: true, follow: false });
    return { id: container.id, code: StatusCode, ...demux(raw) };
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}
