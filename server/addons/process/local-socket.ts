// paas talks to its own add-on servers over unix sockets in `<addon dir>/run`, a directory only the
// add-on's uid (and root, paas) can enter: unlike a loopback port, which any app may bind while the
// add-on is down, nobody else can put a listener there, so a credential sent on it reaches the
// server paas started and no one else.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** The longest unix socket path the kernel takes (sun_path is 108 bytes, with its NUL). */
const SUN_PATH_MAX = 107;

/**
 * Connects to the unix socket `name` in `dir`. A data dir deep enough to make the path too long
 * for a socket address is reached through a descriptor of the directory (`/proc/self/fd/N/name`).
 */
export function connectLocal(dir: string, name: string): net.Socket {
  const full = path.join(dir, name);
  if (Buffer.byteLength(full) <= SUN_PATH_MAX) return net.connect({ path: full });
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  const socket = net.connect({ path: `/proc/self/fd/${fd}/${name}` });
  // The kernel resolved the path at connect(): the directory's descriptor is not needed after it.
  let open = true;
  const close = () => {
    if (open) fs.closeSync(fd);
    open = false;
  };
  for (const event of ['connect', 'error', 'close']) socket.once(event, close);
  return socket;
}

/** Sends `request` on `socket` and resolves with what it answers until `done` says so, it closes, or `timeoutMs` passes. */
export function exchange(socket: net.Socket, request: Buffer, done: (answer: Buffer) => boolean, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve) => {
    let answer = Buffer.alloc(0);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      answer = Buffer.concat([answer, chunk]);
      if (done(answer)) finish();
    });
    socket.on('error', finish);
    socket.on('close', finish);
  });
}

/**
 * Whether PostgreSQL on `socket` accepts connections, as `pg_isready` decides it: a startup message
 * (no password) gets an authentication answer ('R'), or an error other than "the database system
 * is starting up / shutting down" (SQLSTATE 57P03), from a server that is up.
 */
export async function postgresAccepts(socket: net.Socket, user: string, database: string): Promise<boolean> {
  const params = Buffer.from(`user\0${user}\0database\0${database}\0\0`);
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + params.length, 0);
  head.writeInt32BE(196608, 4); // protocol 3.0
  const whole = (a: Buffer) => a.length >= 5 && a.length >= 1 + a.readInt32BE(1);
  const answer = await exchange(socket, Buffer.concat([head, params]), whole, 1000);
  if (answer[0] === 0x52) return true;
  return answer[0] === 0x45 && whole(answer) && !answer.includes('C57P03\0');
}
