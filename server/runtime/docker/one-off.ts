import type Docker from 'dockerode';
import { launcher } from '../launcher.js';
import { pipeInput } from '../process/pty.js';
import type { DynoSpec, RunningDyno, TtySize } from '../types.js';

// Sets the terminal's size from inside before the command runs: a resize through the engine can only
// come after the start, by when the app may have looked (Docker leaves a new TTY at 0x0). A fixed
// script: the size, the launcher and the command reach it as positional arguments.
const SIZED = 'stty rows "$1" cols "$2" 2>/dev/null; shift 2; exec "$@"';

/**
 * What runs in a dyno's container: a Procfile command through the launcher (the image's bash, after
 * the app's .profile.d), on a sized terminal for a `tty` run.
 */
export function entrypoint(spec: DynoSpec): Pick<Docker.ContainerCreateOptions, 'Entrypoint' | 'Cmd'> {
  if (spec.command === undefined) return {};
  const launch = launcher(spec.profile ?? false);
  if (spec.tty) return { Entrypoint: ['/bin/bash', '-c', SIZED, 'paas-tty', String(spec.tty.rows), String(spec.tty.cols), ...launch], Cmd: [spec.command] };
  return { Entrypoint: launch, Cmd: [spec.command] };
}

/** A one-off run (`paas run`): stdin open until the client's end-of-file, and maybe a terminal. */
export function oneOffOptions(spec: DynoSpec): Partial<Docker.ContainerCreateOptions> {
  return {
    ...(spec.stdin || spec.tty ? { AttachStdin: true, OpenStdin: true, StdinOnce: true } : {}),
    ...(spec.tty ? { Tty: true } : {}),
  };
}

/** A one-off container's stdin (the hijacked attach: its end is the container's EOF), terminal size and output flow. */
export function oneOffInput(container: Docker.Container, stream: NodeJS.ReadableStream, spec: DynoSpec): Pick<RunningDyno, 'stdin' | 'resize' | 'flow'> {
  // One engine call after the other, so the last size asked is the one that stays.
  let resized = Promise.resolve();
  const resize = (size: TtySize) => (resized = resized.then(() => container.resize({ h: size.rows, w: size.cols })).then(() => undefined, () => undefined));
  const flow = (on: boolean) => void (on ? stream.resume() : stream.pause());
  return { stdin: pipeInput(stream as NodeJS.ReadWriteStream), resize: spec.tty ? resize : undefined, flow: spec.onOutput ? flow : undefined };
}
