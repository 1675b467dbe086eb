import fs from 'node:fs';
import type { DynoInput, TtySize } from '../types.js';

/**
 * Gives a one-off dyno a pseudo-terminal from inside its sandbox, where there is no node-pty: a fixed
 * Python program (the command reaches it as arguments) forks the command on a new pty of the given
 * size and relays between it and its own stdin and stdout. Its stdin is framed (`frame` below), so
 * a window size change travels in the same pipe as the keystrokes and lands as TIOCSWINSZ, which
 * gives the app its SIGWINCH. It exits with the command's status (128 + n for a death by signal n).
 */
const PTY_PROGRAM = `
import fcntl, os, pty, select, struct, sys, termios
def size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
pid, master = pty.fork()
if pid == 0:
    size(0, int(sys.argv[1]), int(sys.argv[2]))
    os.execvp(sys.argv[3], sys.argv[3:])
pending, source = b'', 0
while True:
    ready = select.select([master] + ([source] if source is not None else []), [], [])[0]
    if master in ready:
        try:
            out = os.read(master, 65536)
        except OSError:
            out = b''
        if not out:
            break
        while out:
            out = out[os.write(1, out):]
    if source is not None and source in ready:
        got = os.read(source, 65536)
        if not got:
            source = None
        pending += got
        while len(pending) >= 5:
            kind, n = pending[0], struct.unpack('>I', pending[1:5])[0]
            if len(pending) < 5 + n:
                break
            body, pending = pending[5:5 + n], pending[5 + n:]
            if kind == 0:
                while body:
                    body = body[os.write(master, body):]
            elif kind == 1:
                size(master, *struct.unpack('>HH', body))
code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
sys.exit(128 - code if code < 0 else code)
`;

/** Where the sandbox finds the Python that runs PTY_PROGRAM: the system's, never one of the app's. */
const PYTHON = '/usr/bin/python3';

/** The argv that runs `argv` on a pty of `size`. `-I`: no PYTHON* variable of the app's config steers it. */
export function ptyArgv(size: TtySize, argv: string[]): string[] {
  if (!fs.existsSync(PYTHON)) {
    throw new Error(`a terminal for paas run needs ${PYTHON} on the paas host: install python3 there, or run the command without a terminal (paas run COMMAND < /dev/null)`);
  }
  return [PYTHON, '-I', '-c', PTY_PROGRAM, String(size.rows), String(size.cols), ...argv];
}

/** The input side of PTY_PROGRAM: keystrokes (kind 0) and sizes (kind 1), each `kind, u32 length, body`. */
export function ptyInput(pipe: NodeJS.WritableStream): { stdin: DynoInput; resize: (size: TtySize) => Promise<void> } {
  const raw = pipeInput(pipe);
  const frame = (kind: number, body: Buffer) => {
    const head = Buffer.alloc(5);
    head[0] = kind;
    head.writeUInt32BE(body.length, 1);
    return raw.write(Buffer.concat([head, body]));
  };
  return {
    stdin: { write: (chunk) => frame(0, chunk), end: raw.end, drained: raw.drained },
    // In the same pipe as the keystrokes: keys sent after a resize meet the new size.
    resize: async ({ rows, cols }) => {
      const body = Buffer.alloc(4);
      body.writeUInt16BE(rows, 0);
      body.writeUInt16BE(cols, 2);
      void frame(1, body);
    },
  };
}

/** A plain pipe as a dyno's input. A dyno that exits without reading all of it breaks the pipe: that is no error of ours. */
export function pipeInput(pipe: NodeJS.WritableStream): DynoInput {
  pipe.on('error', () => undefined);
  return { write: (chunk) => pipe.write(chunk), end: () => pipe.end(), drained: (fn) => void pipe.once('drain', fn) };
}
