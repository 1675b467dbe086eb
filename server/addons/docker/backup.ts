// Logical backups of a PostgreSQL add-on, run inside its container by `docker exec`: pg_dump and
// pg_restore there are the server's own version (the host needs no PostgreSQL client, nor one new
// enough), and they log in as the superuser over the container's own socket with peer
// authentication, so no password is handled at all. The dump streams out through the exec's
// output into the file, and back in through its stdin.
import fs from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type Docker from 'dockerode';
import type { AddonInstance } from '../types.js';

/**
 * Runs `argv` in the add-on's container as its uid: the file `input` or the `text` on its stdin,
 * its stdout into `output`. Rejects, with the end of its stderr, unless it exits 0.
 */
export async function execIn(docker: Docker, container: string, addon: AddonInstance, argv: string[], io: { input?: string; text?: string; output?: NodeJS.WritableStream }): Promise<void> {
  const stdin = io.input !== undefined || io.text !== undefined;
  const exec = await docker.getContainer(container).exec({ Cmd: argv, User: `${addon.uid}:${addon.uid}`, AttachStdin: stdin, AttachStdout: true, AttachStderr: true });
  const stream = (await exec.start({ hijack: true, stdin })) as NodeJS.ReadWriteStream;
  const stdout = io.output ? new PassThrough() : new PassThrough().resume();
  const stderr = new PassThrough();
  const errors: Buffer[] = [];
  stderr.on('data', (chunk: Buffer) => errors.length < 64 && errors.push(chunk));
  docker.modem.demuxStream(stream, stdout, stderr);
  const ended = new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', resolve);
  }).then(() => stdout.end());
  const written = io.output ? pipeline(stdout, io.output) : Promise.resolve();
  if (stdin) {
    stream.on('error', () => undefined);
    const source = io.input !== undefined ? fs.createReadStream(io.input) : Readable.from([io.text ?? '']);
    await pipeline(source, stream, { end: true }).catch(() => undefined);
  }
  await ended;
  await written;
  const { ExitCode } = await exec.inspect();
  if (ExitCode !== 0) throw new Error(`${argv[0]} failed (exit code ${ExitCode}): ${Buffer.concat(errors).toString('utf8').trim().split('\n').slice(-5).join(' | ')}`);
}

/** `pg_dump -Fc` of the add-on's database into `file` (0600: it holds the data), whole or not at all. */
export async function capture(docker: Docker, container: string, addon: AddonInstance, file: string): Promise<void> {
  const partial = `${file}.partial`;
  try {
    await execIn(docker, container, addon, ['pg_dump', '-Fc', '-U', 'postgres', '-d', addon.database], { output: fs.createWriteStream(partial, { mode: 0o600 }) });
    fs.renameSync(partial, file);
  } finally {
    fs.rmSync(partial, { force: true });
  }
}

/** `pg_restore --clean --if-exists` of `file` into the add-on's database, in one transaction: all of it or none. */
export async function restore(docker: Docker, container: string, addon: AddonInstance, file: string): Promise<void> {
  if (!fs.existsSync(file)) throw new Error(`no backup file ${file}`);
  await execIn(docker, container, addon, ['pg_restore', '--clean', '--if-exists', '--single-transaction', '-U', 'postgres', '-d', addon.database], { input: file });
}
